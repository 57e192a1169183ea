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
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/test/receiver"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// waitForTaskRun polls the TaskRun until ok holds for it (nil: it is gone).
func waitForTaskRun(t *testing.T, client tektonclient.Interface, ns, name, what string, ok func(finalizers []string, deleting bool, gone bool) bool) {
	t.Helper()
	deadline := time.Now().Add(eventTimeout)
	for {
		tr, err := client.TektonV1().TaskRuns(ns).Get(context.Background(), name, metav1.GetOptions{})
		gone := apierrors.IsNotFound(err)
		if err != nil && !gone {
			t.Fatal(err)
		}
		if gone && ok(nil, false, true) || !gone && ok(tr.Finalizers, tr.DeletionTimestamp != nil, false) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("TaskRun %s/%s: timed out waiting for %s", ns, name, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDeletionGuardHoldsDeletedTaskRuns: with the guard, a TaskRun deleted
// while the sink is down, or while no adapter runs, waits (deleting) until
// its events are delivered and checkpointed, then goes; other parties'
// finalizers stay untouched.
func TestDeletionGuardHoldsDeletedTaskRuns(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	sink.FailWith(http.StatusServiceUnavailable)
	cfg := sourceConfig(ns)
	cfg.GuardDeadline = &metav1.Duration{Duration: 5 * time.Minute}
	finalizer := adaptercontract.GuardFinalizer(cfg.SourceUID)
	first := startAdapter(t, cfg, sink.URL, nil)
	client := tektonclient.NewForConfigOrDie(cp.Config)
	ctx := context.Background()

	// Held while the sink is down.
	held := sim.MustCreate(t, client, ns, "held", nil, "a")
	waitForTaskRun(t, client, ns, "held", "the guard's finalizer", func(f []string, _, _ bool) bool { return slices.Contains(f, finalizer) })
	if err := held.Complete(ctx, true, sim.Succeeded()); err != nil {
		t.Fatal(err)
	}
	if err := client.TektonV1().TaskRuns(ns).Delete(ctx, "held", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	waitForTaskRun(t, client, ns, "held", "deleting, still there", func(_ []string, deleting, gone bool) bool { return deleting && !gone })

	// Deleted while no adapter runs: the next one delivers their events.
	const offline = 4
	var runs []*sim.Run
	for i := range offline {
		r := sim.MustCreate(t, client, ns, fmt.Sprintf("offline-%d", i), nil, "a")
		waitForTaskRun(t, client, ns, r.Name, "the guard's finalizer", func(f []string, _, _ bool) bool { return slices.Contains(f, finalizer) })
		runs = append(runs, r)
	}
	first.stop(t)
	for _, r := range runs {
		if err := r.Complete(ctx, true, sim.Succeeded()); err != nil {
			t.Fatal(err)
		}
		if err := client.TektonV1().TaskRuns(ns).Delete(ctx, r.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	sink.FailWith(0)
	startAdapter(t, cfg, sink.URL, nil)
	evs, err := sink.WaitForCount(ctx, eventTimeout, 2*(offline+1))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, s := range sequence(evs) {
		counts[s]++
	}
	want := map[string]int{"held/a/started": 1, "held/a/succeeded": 1}
	for i := range offline {
		want[fmt.Sprintf("offline-%d/a/started", i)] = 1
		want[fmt.Sprintf("offline-%d/a/succeeded", i)] = 1
	}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Errorf("events of the held TaskRuns (-want +got):\n%s", diff)
	}
	for _, name := range append([]string{"held"}, "offline-0", "offline-1", "offline-2", "offline-3") {
		waitForTaskRun(t, client, ns, name, "released and gone", func(_ []string, _, gone bool) bool { return gone })
	}
}

// TestDeletionGuardDeadlineAndTurnedOff: a deleted TaskRun whose events
// cannot be delivered is released at the deadline (its events are still
// delivered later from its last state); a guard turned off releases the
// TaskRuns it held; another party's finalizer is never touched.
func TestDeletionGuardDeadlineAndTurnedOff(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	sink.FailWith(http.StatusServiceUnavailable)
	cfg := sourceConfig(ns)
	cfg.GuardDeadline = &metav1.Duration{Duration: 2 * time.Second}
	finalizer := adaptercontract.GuardFinalizer(cfg.SourceUID)
	const other = "example.com/keep-me"
	guarded := startAdapter(t, cfg, sink.URL, nil)
	client := tektonclient.NewForConfigOrDie(cp.Config)
	ctx := context.Background()

	late := sim.MustCreate(t, client, ns, "late", nil, "a")
	waitForTaskRun(t, client, ns, "late", "the guard's finalizer", func(f []string, _, _ bool) bool { return slices.Contains(f, finalizer) })
	if err := late.Complete(ctx, true, sim.Succeeded()); err != nil {
		t.Fatal(err)
	}
	deletedAt := time.Now()
	if err := client.TektonV1().TaskRuns(ns).Delete(ctx, "late", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForTaskRun(t, client, ns, "late", "released at the deadline", func(_ []string, _, gone bool) bool { return gone })
	if held := time.Since(deletedAt); held < 2*time.Second {
		t.Errorf("released after %s, before the 2s deadline", held)
	}
	sink.FailWith(0)
	if _, err := sink.WaitForCount(ctx, eventTimeout, 2); err != nil {
		t.Fatalf("the released TaskRun's events: %v", err)
	}

	// Turned off: the next adapter releases what the guard held, and only
	// its own finalizer.
	sim.MustCreate(t, client, ns, "kept", nil, "a")
	waitForTaskRun(t, client, ns, "kept", "the guard's finalizer", func(f []string, _, _ bool) bool { return slices.Contains(f, finalizer) })
	// Read again on a conflict: the running adapter may write it meanwhile.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		tr, err := client.TektonV1().TaskRuns(ns).Get(ctx, "kept", metav1.GetOptions{})
		if err != nil {
			return err
		}
		tr.Finalizers = append(tr.Finalizers, other)
		_, err = client.TektonV1().TaskRuns(ns).Update(ctx, tr, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	guarded.stop(t)
	off := *cfg
	off.GuardDeadline = nil
	startAdapter(t, &off, sink.URL, nil)
	waitForTaskRun(t, client, ns, "kept", "the guard's finalizer gone, the other kept", func(f []string, _, _ bool) bool {
		return !slices.Contains(f, finalizer) && slices.Contains(f, other)
	})
}

// TestDeletionGuardReleasesADeletedRunningTaskRun: a TaskRun deleted while
// a step runs never finishes in its status (Tekton's controller leaves a
// TaskRun being deleted alone), so its state then is its last: once its
// events so far are delivered and checkpointed it goes, long before the
// deadline.
func TestDeletionGuardReleasesADeletedRunningTaskRun(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	cfg := sourceConfig(ns)
	cfg.GuardDeadline = &metav1.Duration{Duration: 10 * time.Minute}
	finalizer := adaptercontract.GuardFinalizer(cfg.SourceUID)
	startAdapter(t, cfg, sink.URL, nil)
	client := tektonclient.NewForConfigOrDie(cp.Config)
	ctx := context.Background()

	r := sim.MustCreate(t, client, ns, "cut-short", nil, "a", "b")
	r.MustSetSteps(t, sim.Running(), sim.Waiting())
	waitForTaskRun(t, client, ns, "cut-short", "the guard's finalizer", func(f []string, _, _ bool) bool { return slices.Contains(f, finalizer) })
	if err := client.TektonV1().TaskRuns(ns).Delete(ctx, "cut-short", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForTaskRun(t, client, ns, "cut-short", "released once its events so far are recorded", func(_ []string, _, gone bool) bool { return gone })
	if diff := cmp.Diff([]string{"cut-short/a/started"}, sequence(sink.Events())); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
