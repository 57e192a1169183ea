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
	"strings"
	"testing"
	"time"

	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stepadapter "github.com/tektonstep/tekton-step-source/pkg/adapter"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/test/receiver"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// TestRefusedAnnotationGoesToTheJournal: a TaskRun whose annotations are
// so large that the apiserver refuses our checkpoint annotation (the 256 KiB
// limit on all of a TaskRun's annotations) is not retried in a loop: the
// refusal is counted, and the finished attempt's progress stays in the
// journal, so a restarted adapter sends nothing again.
func TestRefusedAnnotationGoesToTheJournal(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	cfg := sourceConfig(ns)
	reader := sdkmetric.NewManualReader()
	first := startAdapter(t, cfg, sink.URL, nil, func(o *stepadapter.Options) {
		o.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	})
	client := tektonclient.NewForConfigOrDie(cp.Config)
	ctx := context.Background()

	run := sim.MustCreate(t, client, ns, "bloated", nil, "a", "b")
	tr, err := client.TektonV1().TaskRuns(ns).Get(ctx, "bloated", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Room for a few bytes more, not for our annotation.
	tr.Annotations = map[string]string{"filler": strings.Repeat("x", 262144-len("filler")-16)}
	if _, err := client.TektonV1().TaskRuns(ns).Update(ctx, tr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	run.MustSetSteps(t, sim.Running(), sim.Running())
	if err := run.Complete(ctx, true, sim.Succeeded(), sim.Succeeded()); err != nil {
		t.Fatal(err)
	}
	if _, err := sink.WaitForCount(ctx, eventTimeout, 4); err != nil {
		t.Fatal(err)
	}
	waitForJournal(t, cfg, "bloated", `"s":{"a":2,"b":2}`)
	// Refused once, not retried.
	time.Sleep(time.Second)
	if got := checkpointWrites(t, reader)["annotation/refused"]; got != 1 {
		t.Errorf("refused annotation writes = %d, want exactly 1 (%v)", got, checkpointWrites(t, reader))
	}
	tr, err = client.TektonV1().TaskRuns(ns).Get(ctx, "bloated", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tr.Annotations[checkpoint.Key(cfg.SourceUID)]; ok {
		t.Error("the checkpoint annotation was written after all")
	}

	first.stop(t)
	startAdapter(t, cfg, sink.URL, nil)
	time.Sleep(2 * time.Second)
	if evs := sink.Events(); len(evs) != 4 {
		t.Errorf("after a restart: %d events, want the 4 of before (nothing sent again): %v", len(evs), sequence(evs))
	}
	// The journal keeps the entry: the pruning at start removes only
	// entries an annotation covers or of TaskRuns that are gone.
	waitForJournal(t, cfg, "bloated", `"s":{"a":2,"b":2}`)
}

// checkpointWrites sums tekton_step_source.checkpoint.writes by
// "<store>/<outcome>".
func checkpointWrites(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	return sumCounters(t, reader, func(name string, attrs attribute.Set) string {
		if name != stepadapter.MetricCheckpointWrites {
			return ""
		}
		store, _ := attrs.Value("checkpoint.store")
		outcome, _ := attrs.Value("outcome")
		return store.AsString() + "/" + outcome.AsString()
	})
}
