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
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tektonstep/tekton-step-source/test/receiver"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// TestDeletedTaskRunsAreDelivered: TaskRuns deleted right after they
// finished (a pruner, `keep: N`, a PipelineRun deletion) while the sink is
// down still have every transition delivered once it is back, each once,
// from the delete notification's last state; their logs are gone with their
// pods (logError) and their journal entries are removed. A name deleted,
// recreated and deleted again meanwhile delivers both TaskRuns, the older
// first.
func TestDeletedTaskRunsAreDelivered(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	sink.FailWith(http.StatusServiceUnavailable)
	cfg := sourceConfig(ns)
	startAdapter(t, cfg, sink.URL, nil)
	client := tektonclient.NewForConfigOrDie(cp.Config)
	ctx := context.Background()

	const runs = 8
	deleteNow := func(name string) {
		t.Helper()
		if err := client.TektonV1().TaskRuns(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	for i := range runs {
		name := fmt.Sprintf("pruned-%d", i)
		r := sim.MustCreate(t, client, ns, name, nil, "a", "b")
		r.MustSetSteps(t, sim.Running(), sim.Running())
		last, final := "succeeded", sim.Succeeded()
		if i%2 == 1 {
			last, final = "failed", sim.Failed()
		}
		if err := r.Complete(ctx, last == "succeeded", sim.Succeeded(), final); err != nil {
			t.Fatal(err)
		}
		deleteNow(name)
		want = append(want, name+"/a/started", name+"/a/succeeded", name+"/b/started", name+"/b/"+last)
	}
	// The same name twice: the first TaskRun ran one step before it was
	// deleted mid-run, its successor finished.
	first := sim.MustCreate(t, client, ns, "reused", nil, "a", "b")
	first.MustSetSteps(t, sim.Succeeded(), sim.Running())
	deleteNow("reused")
	waitGone(t, client, ns, "reused")
	second := sim.MustCreate(t, client, ns, "reused", nil, "a")
	if err := second.Complete(ctx, true, sim.Succeeded()); err != nil {
		t.Fatal(err)
	}
	deleteNow("reused")
	want = append(want, "reused/a/started", "reused/a/succeeded", "reused/b/started", "reused/a/started", "reused/a/succeeded")

	// The adapter keeps trying while the TaskRuns are gone.
	deadline := time.Now().Add(eventTimeout)
	for sink.Rejected() < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	sink.FailWith(0)
	evs, err := sink.WaitForCount(ctx, eventTimeout, len(want))
	if err != nil {
		t.Fatalf("%v; got %v", err, sequence(evs))
	}
	// Nothing more comes: each transition once.
	time.Sleep(time.Second)
	evs = sink.Events()
	assertUniqueIDs(t, evs)
	var got []string
	for i := range runs {
		got = append(got, sequence(forTaskRun(evs, fmt.Sprintf("pruned-%d", i)))...)
	}
	got = append(got, sequence(forTaskRun(evs, "reused"))...)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events per TaskRun (-want +got):\n%s", diff)
	}
	if len(evs) != len(want) {
		t.Errorf("%d events, want %d", len(evs), len(want))
	}
	reusedUIDs := map[string]bool{}
	for _, e := range forTaskRun(evs, "reused") {
		reusedUIDs[string(decodeData(t, e).TaskRun.UID)] = true
	}
	if len(reusedUIDs) != 2 {
		t.Errorf("reused name: events of %d TaskRuns, want 2", len(reusedUIDs))
	}
	for _, e := range evs {
		if k := kind(e.Type()); k == "succeeded" || k == "failed" {
			if d := decodeData(t, e); d.LogError == "" && d.Log == nil {
				t.Errorf("%s: neither a log nor logError", e.ID())
			}
		}
	}
	for i := range runs {
		waitForJournal(t, cfg, fmt.Sprintf("pruned-%d", i), "")
	}
	waitForJournal(t, cfg, "reused", "")
}

// waitGone waits until the TaskRun no longer exists.
func waitGone(t *testing.T, client tektonclient.Interface, ns, name string) {
	t.Helper()
	deadline := time.Now().Add(eventTimeout)
	for time.Now().Before(deadline) {
		if _, err := client.TektonV1().TaskRuns(ns).Get(context.Background(), name, metav1.GetOptions{}); err != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("TaskRun %s/%s was not deleted", ns, name)
}
