/*
Copyright 2026 The tekton-step-source Authors

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package integration

import (
	"context"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"

	"github.com/tektonstep/tekton-step-source/test/contract"
	"github.com/tektonstep/tekton-step-source/test/receiver"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// TestPodRecreatedMidAttempt: when a TaskRun's pod vanishes before Tekton
// saw it fail, Tekton creates it again under the same name and its steps
// run again in the same attempt, so the status goes back (the first step
// running again). The steps already reported are not reported again: each
// transition keeps its one id, and the run's stream stays complete.
func TestPodRecreatedMidAttempt(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	cfg := sourceConfig(ns)
	client := tektonclient.NewForConfigOrDie(cp.Config)
	ctx := context.Background()
	run := sim.MustCreate(t, client, ns, "recreated", nil, "first", "second", "third")
	startAdapter(t, cfg, sink.URL, nil)

	run.MustSetSteps(t, sim.Succeeded(), sim.Running(), sim.Waiting())
	if _, err := sink.WaitForCount(ctx, eventTimeout, 3); err != nil {
		t.Fatal(err)
	}
	// The new pod: every step from the start again.
	run.MustSetSteps(t, sim.Running(), sim.Waiting(), sim.Waiting())
	run.MustSetSteps(t, sim.Succeeded(), sim.Running(), sim.Waiting())
	if err := run.Complete(ctx, true, sim.Succeeded(), sim.Succeeded(), sim.Succeeded()); err != nil {
		t.Fatal(err)
	}
	evs, err := sink.WaitFor(ctx, eventTimeout, func(evs []cloudevents.Event) bool { return len(evs) >= 6 })
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // anything more would arrive by now
	evs = sink.Events()
	if len(evs) != 6 {
		t.Errorf("%d events, want the 6 transitions once each:\n%v", len(evs), evs)
	}
	contract.Verify(t, evs, contract.Options{Complete: true, LogMaxBytes: int(cfg.LogMaxBytes)})
}
