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
	"github.com/google/go-cmp/cmp"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/events"
	sourcesclient "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned"
	"github.com/tektonstep/tekton-step-source/test/receiver"
	"github.com/tektonstep/tekton-step-source/test/sourcestatus"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// TestNamespacesFollowTheStatus: a running adapter of a namespaceSelector
// source watches the namespaces its source's status confirms, as the
// controller changes them: a namespace that joins is watched, one that
// leaves is not, one that comes back gets the events it missed, and a
// refusal (SufficientPermissions False, no namespaces) changes nothing. A
// TaskRun of a namespace that stays loses and repeats nothing meanwhile.
// Per-namespace watches and one cluster-wide watch alike.
func TestNamespacesFollowTheStatus(t *testing.T) {
	for _, clusterWatch := range []bool{false, true} {
		name := "perNamespace"
		if clusterWatch {
			name = "clusterWatch"
		}
		t.Run(name, func(t *testing.T) {
			home, a, b := cp.NewNamespace(t), cp.NewNamespace(t), cp.NewNamespace(t)
			sources := sourcesclient.NewForConfigOrDie(cp.Config)
			src, err := sourcestatus.NewSelectorSource(context.Background(), sources, home, "selected")
			if err != nil {
				t.Fatal(err)
			}
			confirm := func(sufficient bool, namespaces ...string) {
				t.Helper()
				if err := sourcestatus.ConfirmNamespaces(context.Background(), sources, home, src.Name, sufficient, namespaces...); err != nil {
					t.Fatal(err)
				}
			}
			confirm(true, a)

			sink := receiver.New(t)
			cfg := sourceConfig(home)
			cfg.SourceUID, cfg.SourceName = string(src.UID), src.Name
			cfg.Namespaces, cfg.NamespacesFromStatus, cfg.ClusterWatch = nil, true, clusterWatch
			startAdapter(t, cfg, sink.URL, nil)
			client := tektonclient.NewForConfigOrDie(cp.Config)
			inNamespace := func(evs []cloudevents.Event, ns string) []cloudevents.Event {
				var out []cloudevents.Event
				for _, e := range evs {
					if e.Extensions()[events.ExtNamespace] == ns {
						out = append(out, e)
					}
				}
				return out
			}
			waitFor := func(what string, ok func([]cloudevents.Event) bool) {
				t.Helper()
				if _, err := sink.WaitFor(context.Background(), eventTimeout, ok); err != nil {
					t.Fatalf("%s: %v", what, err)
				}
			}
			complete := func(evs []cloudevents.Event, ns, run string) bool {
				return len(forTaskRun(inNamespace(evs, ns), run)) >= len(failingRunSequence)
			}

			// A run in a, and one that stays running while b joins.
			driveFailingRun(t, sim.MustCreate(t, client, a, "first", nil, "compile", "test", "publish"))
			long := sim.MustCreate(t, client, a, "long", nil, "compile", "test", "publish")
			long.MustSetSteps(t, sim.Running(), sim.Running(), sim.Running())
			long.MustSetSteps(t, sim.Succeeded(), sim.Running(), sim.Running())
			driveFailingRun(t, sim.MustCreate(t, client, b, "before-b-joined", nil, "compile", "test", "publish"))
			waitFor("a's first run", func(evs []cloudevents.Event) bool {
				return complete(evs, a, "first") && len(forTaskRun(evs, "long")) >= 3
			})

			confirm(true, a, b)
			driveFailingRun(t, sim.MustCreate(t, client, b, "after-b-joined", nil, "compile", "test", "publish"))
			long.MustSetSteps(t, sim.Succeeded(), sim.Failed(), sim.Running())
			long.MustSetSteps(t, sim.Succeeded(), sim.Failed(), sim.Skipped())
			if err := long.Finish(context.Background(), false); err != nil {
				t.Fatal(err)
			}
			// b's TaskRuns since the source's creation, the one that ran
			// before b joined included: as an adapter starting then would.
			waitFor("b's runs and a's long run", func(evs []cloudevents.Event) bool {
				return complete(evs, b, "before-b-joined") && complete(evs, b, "after-b-joined") && complete(evs, a, "long")
			})

			// A refusal clears the namespaces: nothing changes.
			confirm(false)
			driveFailingRun(t, sim.MustCreate(t, client, a, "during-refusal", nil, "compile", "test", "publish"))
			waitFor("a's run during the refusal", func(evs []cloudevents.Event) bool { return complete(evs, a, "during-refusal") })

			// a leaves: its TaskRuns are not handled; b's still are.
			confirm(true, b)
			time.Sleep(time.Second) // the status reaches the adapter's watch
			away := sim.MustCreate(t, client, a, "while-a-was-away", nil, "compile", "test", "publish")
			driveFailingRun(t, away)
			driveFailingRun(t, sim.MustCreate(t, client, b, "marker", nil, "compile", "test", "publish"))
			waitFor("b's marker", func(evs []cloudevents.Event) bool { return complete(evs, b, "marker") })
			if got := forTaskRun(sink.Events(), "while-a-was-away"); len(got) != 0 {
				t.Errorf("%d events of a TaskRun of a namespace that left", len(got))
			}
			tr, err := client.TektonV1().TaskRuns(a).Get(context.Background(), away.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if v, ok := tr.Annotations[checkpoint.Key(cfg.SourceUID)]; ok {
				t.Errorf("a TaskRun of a namespace that left was processed: checkpoint %s", v)
			}

			// a comes back: what it missed is sent, once.
			confirm(true, a, b)
			waitFor("the run of a while it was away", func(evs []cloudevents.Event) bool { return complete(evs, a, "while-a-was-away") })
			time.Sleep(time.Second)
			got := map[string][]string{}
			for _, e := range sink.Events() {
				run := e.Extensions()[events.ExtTaskRun].(string)
				got[run] = append(got[run], sequence([]cloudevents.Event{e})[0])
			}
			for run, seq := range got {
				want := make([]string, 0, len(failingRunSequence))
				for _, s := range failingRunSequence {
					want = append(want, run+s[len("build"):])
				}
				if diff := cmp.Diff(want, seq); diff != "" {
					t.Errorf("%s: events (-want +got):\n%s", run, diff)
				}
			}
			if len(got) != 7 {
				t.Errorf("events of %d TaskRuns, want 7: %v", len(got), got)
			}
		})
	}
}

// TestLeftNamespaceDeletedTaskRuns: a TaskRun deleted while the sink is
// down is kept for its last events; when its namespace then leaves the
// source's namespaces, nothing of it is sent any more (docs/security.md: "its
// TaskRuns' events stop"), and its journal entry goes, once the sink is
// back, while another namespace's events flow.
func TestLeftNamespaceDeletedTaskRuns(t *testing.T) {
	home, a, b := cp.NewNamespace(t), cp.NewNamespace(t), cp.NewNamespace(t)
	sources := sourcesclient.NewForConfigOrDie(cp.Config)
	ctx := context.Background()
	src, err := sourcestatus.NewSelectorSource(ctx, sources, home, "selected")
	if err != nil {
		t.Fatal(err)
	}
	if err := sourcestatus.ConfirmNamespaces(ctx, sources, home, src.Name, true, a, b); err != nil {
		t.Fatal(err)
	}
	sink := receiver.New(t)
	cfg := sourceConfig(home)
	cfg.SourceUID, cfg.SourceName = string(src.UID), src.Name
	cfg.Namespaces, cfg.NamespacesFromStatus = nil, true
	startAdapter(t, cfg, sink.URL, nil)
	client := tektonclient.NewForConfigOrDie(cp.Config)

	// The first step's events reach the sink, then it goes down, the run
	// finishes and is deleted: its last events wait in the adapter.
	run := sim.MustCreate(t, client, a, "deleted-run", nil, "compile", "test")
	run.MustSetSteps(t, sim.Running(), sim.Running())
	if _, err := sink.WaitForCount(ctx, eventTimeout, 1); err != nil {
		t.Fatal(err)
	}
	waitForJournal(t, cfg, "deleted-run", `"s":{`)
	sink.FailWith(503)
	before := sequence(forTaskRun(sink.Events(), "deleted-run"))
	if err := run.Complete(ctx, false, sim.Failed(), sim.Skipped()); err != nil {
		t.Fatal(err)
	}
	if err := client.TektonV1().TaskRuns(a).Delete(ctx, run.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, client, a, run.Name)
	deadline := time.Now().Add(eventTimeout)
	for sink.Rejected() == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if sink.Rejected() == 0 {
		t.Fatal("the deleted TaskRun's last events were never attempted")
	}

	// a leaves; the sink comes back; b's run goes through.
	if err := sourcestatus.ConfirmNamespaces(ctx, sources, home, src.Name, true, b); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the status reaches the adapter's watch
	sink.FailWith(0)
	driveFailingRun(t, sim.MustCreate(t, client, b, "marker", nil, "compile", "test", "publish"))
	if _, err := sink.WaitFor(ctx, eventTimeout, func(evs []cloudevents.Event) bool {
		return len(forTaskRun(evs, "marker")) == len(failingRunSequence)
	}); err != nil {
		t.Fatalf("b's run: %v", err)
	}
	time.Sleep(2 * time.Second) // a retry of the deleted run's events would be due by now
	if diff := cmp.Diff(before, sequence(forTaskRun(sink.Events(), "deleted-run"))); diff != "" {
		t.Errorf("events of the deleted TaskRun after its namespace left (-before +after):\n%s", diff)
	}
	waitForJournal(t, cfg, "deleted-run", "")
}
