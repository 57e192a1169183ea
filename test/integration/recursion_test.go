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
	"strings"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/go-cmp/cmp"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	"github.com/tektonstep/tekton-step-source/test/receiver"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// TestRecursionGuard plays the loop the guard prevents: the sink is an
// EventListener that starts a follow-up TaskRun for every failed step, and
// the follow-up fails too. The test acts as the EventListener's
// TriggerTemplate: it creates each follow-up with the label Tekton Triggers
// puts on what an EventListener creates. With the guard (the default for an
// EventListener sink) only the original run produces events; without it
// (includeSinkTriggeredRuns) every generation does, until the test stops
// the loop.
func TestRecursionGuard(t *testing.T) {
	const listener, lastGeneration = "on-step", 3
	tests := []struct {
		name    string
		exclude string
		// want is the TaskRuns whose failed step reached the sink.
		want []string
	}{
		{name: "guarded", exclude: listener, want: []string{"gen-0"}},
		{name: "includeSinkTriggeredRuns", exclude: "", want: []string{"gen-0", "gen-1", "gen-2", "gen-3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns := cp.NewNamespace(t)
			sink := receiver.New(t)
			cfg := sourceConfig(ns)
			if tc.exclude != "" {
				cfg.ExcludeEventListener = &adaptercontract.EventListenerRef{Name: tc.exclude, Namespace: ns}
			}
			startAdapter(t, cfg, sink.URL, nil)
			client := tektonclient.NewForConfigOrDie(cp.Config)
			ctx := context.Background()

			driveFailingRun(t, sim.MustCreate(t, client, ns, "gen-0", nil, "compile", "test", "publish"))
			// The EventListener: one follow-up per failed event, up to
			// lastGeneration (guarded, only gen-0's event ever comes).
			isFailed := func(e cloudevents.Event) bool { return e.Type() == v1alpha1.StepFailedEventType }
			for gen := 0; gen <= lastGeneration; gen++ {
				parent := fmt.Sprintf("gen-%d", gen)
				if _, err := sink.WaitFor(ctx, eventTimeout, func(evs []cloudevents.Event) bool {
					for _, e := range evs {
						if isFailed(e) && strings.HasSuffix(e.Source(), "/"+parent) {
							return true
						}
					}
					return false
				}); err != nil {
					t.Fatalf("no failed event from %s: %v", parent, err)
				}
				if gen == lastGeneration {
					break
				}
				driveFailingRun(t, sim.MustCreate(t, client, ns, fmt.Sprintf("gen-%d", gen+1),
					map[string]string{adaptercontract.EventListenerLabel: listener, "triggers.tekton.dev/trigger": "retest"},
					"compile", "test", "publish"))
				if tc.exclude != "" {
					break
				}
			}

			if tc.exclude != "" {
				// A TaskRun written after gen-1's last update, outside the
				// guard: once its events are in, gen-1's would have been too.
				driveFailingRun(t, sim.MustCreate(t, client, ns, "marker", nil, "compile", "test", "publish"))
				if _, err := sink.WaitFor(ctx, eventTimeout, func(evs []cloudevents.Event) bool {
					return len(forTaskRun(evs, "marker")) == len(failingRunSequence)
				}); err != nil {
					t.Fatal(err)
				}
				// The guarded TaskRun is not even watched: no checkpoint.
				tr, err := client.TektonV1().TaskRuns(ns).Get(ctx, "gen-1", metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if v, ok := tr.Annotations[checkpoint.Key(cfg.SourceUID)]; ok {
					t.Errorf("the EventListener's TaskRun was processed: checkpoint %s", v)
				}
			}

			var failedRuns []string
			for _, e := range sink.Events() {
				if name := e.Source()[strings.LastIndex(e.Source(), "/")+1:]; isFailed(e) && name != "marker" {
					failedRuns = append(failedRuns, name)
				}
			}
			if diff := cmp.Diff(tc.want, failedRuns); diff != "" {
				t.Errorf("TaskRuns whose failed step reached the sink (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRecursionGuardByNamespace: the guard excludes the TaskRuns of the
// sink's EventListener, in its namespace; an EventListener of the same name
// in another namespace is another one, whose TaskRuns are sent.
// Per-namespace watches, the two namespaces through one cluster-wide watch
// (ClusterWatch: a third namespace's TaskRuns come too and are never
// handled) and a cluster-wide source (which then is two watches) alike.
func TestRecursionGuardByNamespace(t *testing.T) {
	const listener = "on-step"
	for _, mode := range []string{"perNamespace", "clusterWatch", "allNamespaces"} {
		t.Run(mode, func(t *testing.T) {
			elNS, otherNS, unselectedNS := cp.NewNamespace(t), cp.NewNamespace(t), cp.NewNamespace(t)
			sink := receiver.New(t)
			cfg := sourceConfig(elNS)
			cfg.Namespaces = []string{elNS, otherNS}
			switch mode {
			case "clusterWatch":
				cfg.ClusterWatch = true
			case "allNamespaces":
				cfg.Namespaces, cfg.AllNamespaces = nil, true
			}
			cfg.ExcludeEventListener = &adaptercontract.EventListenerRef{Name: listener, Namespace: elNS}
			startAdapter(t, cfg, sink.URL, nil)
			client := tektonclient.NewForConfigOrDie(cp.Config)
			byListener := map[string]string{adaptercontract.EventListenerLabel: listener}

			driveFailingRun(t, sim.MustCreate(t, client, unselectedNS, "unselected", nil, "compile", "test", "publish"))
			driveFailingRun(t, sim.MustCreate(t, client, elNS, "guarded", byListener, "compile", "test", "publish"))
			driveFailingRun(t, sim.MustCreate(t, client, otherNS, "same-name-elsewhere", byListener, "compile", "test", "publish"))
			// Written after the guarded run in its namespace's watch: once
			// its events are in, the guarded run's would have been too.
			driveFailingRun(t, sim.MustCreate(t, client, elNS, "marker", nil, "compile", "test", "publish"))
			inTest := func(evs []cloudevents.Event) []cloudevents.Event {
				var out []cloudevents.Event
				for _, e := range evs {
					// Cluster-wide, other tests' TaskRuns arrive too.
					for _, ns := range []string{elNS, otherNS, unselectedNS} {
						if strings.Contains(e.Source(), "/namespaces/"+ns+"/") {
							out = append(out, e)
						}
					}
				}
				return out
			}
			if _, err := sink.WaitFor(context.Background(), eventTimeout, func(evs []cloudevents.Event) bool {
				evs = inTest(evs)
				return len(forTaskRun(evs, "marker")) == len(failingRunSequence) && len(forTaskRun(evs, "same-name-elsewhere")) == len(failingRunSequence) &&
					(mode != "allNamespaces" || len(forTaskRun(evs, "unselected")) == len(failingRunSequence))
			}); err != nil {
				t.Fatal(err)
			}
			// The guarded TaskRun is not even watched: no checkpoint.
			tr, err := client.TektonV1().TaskRuns(elNS).Get(context.Background(), "guarded", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if v, ok := tr.Annotations[checkpoint.Key(cfg.SourceUID)]; ok {
				t.Errorf("the EventListener's TaskRun was processed: checkpoint %s", v)
			}
			got := map[string]int{}
			for _, e := range inTest(sink.Events()) {
				got[e.Source()[strings.LastIndex(e.Source(), "/")+1:]]++
			}
			want := map[string]int{"same-name-elsewhere": len(failingRunSequence), "marker": len(failingRunSequence)}
			if mode == "allNamespaces" {
				want["unselected"] = len(failingRunSequence)
			} else if tr, err := client.TektonV1().TaskRuns(unselectedNS).Get(context.Background(), "unselected", metav1.GetOptions{}); err != nil {
				t.Fatal(err)
			} else if v, ok := tr.Annotations[checkpoint.Key(cfg.SourceUID)]; ok {
				t.Errorf("a TaskRun of an unselected namespace was processed: checkpoint %s", v)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("events per TaskRun (-want +got):\n%s", diff)
			}
		})
	}
}
