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

package fault

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/test/receiver"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// TestGuardedWhileTheAdapterIsDown is issue 14's guard scenario at its
// size: with the deletion guard on, the adapter binary is stopped for 60 s
// while 50 TaskRuns finish and are deleted; once it is back every
// transition arrives once, and the TaskRuns are then gone.
func TestGuardedWhileTheAdapterIsDown(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	cfg := newSourceConfig(ns)
	cfg.GuardDeadline = &metav1.Duration{Duration: 10 * time.Minute}
	finalizer := adaptercontract.GuardFinalizer(cfg.SourceUID)
	proc := startAdapterProcess(t, cfg, sink.URL)
	client := tektonclient.NewForConfigOrDie(cp.Config)
	ctx := context.Background()

	const runs = 50
	var handles []*sim.Run
	for i := range runs {
		r, err := sim.Create(ctx, client, ns, fmt.Sprintf("guarded-%03d", i), nil, "s0")
		if err == nil {
			err = r.SetSteps(ctx, sim.Running())
		}
		if err != nil {
			t.Fatal(err)
		}
		handles = append(handles, r)
	}
	// Every one guarded before the adapter goes.
	for deadline := time.Now().Add(time.Minute); ; {
		list, err := client.TektonV1().TaskRuns(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, tr := range list.Items {
			if slices.Contains(tr.Finalizers, finalizer) {
				n++
			}
		}
		if n == runs {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d TaskRuns guarded", n, runs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	proc.stop()
	stopped := time.Now()
	for _, r := range handles {
		if err := r.SetSteps(ctx, sim.Succeeded()); err != nil {
			t.Fatal(err)
		}
		if err := r.Finish(ctx, true); err != nil {
			t.Fatal(err)
		}
		if err := client.TektonV1().TaskRuns(ns).Delete(ctx, r.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Until(stopped.Add(60 * time.Second)))
	list, err := client.TektonV1().TaskRuns(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != runs {
		t.Fatalf("%d TaskRuns left after 60 s with the adapter down, want all %d held", len(list.Items), runs)
	}
	proc.start()

	if _, err := sink.WaitForCount(ctx, 2*time.Minute, 2*runs); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // anything extra would show up now
	evs := sink.Events()
	if dups := (workload{runs: runs, steps: 1}).verdict(t, evs, "guarded"); dups != 0 {
		// The started events were delivered before the stop, and
		// checkpointed in the journal on SIGTERM.
		t.Errorf("%d duplicates; want 0 after a clean stop", dups)
	}
	for _, r := range handles {
		for deadline := time.Now().Add(time.Minute); ; {
			_, err := client.TektonV1().TaskRuns(ns).Get(ctx, r.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("TaskRun %s still there after its events were delivered: %v", r.Name, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	t.Logf("adapter down 60 s while %d guarded TaskRuns finished and were deleted: %d events after its return, all TaskRuns gone",
		runs, len(evs))
}
