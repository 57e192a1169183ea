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

package recipes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap/zaptest"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/eventing/pkg/eventfilter"
	"knative.dev/eventing/pkg/eventfilter/attributes"
	"knative.dev/eventing/pkg/eventfilter/subscriptionsapi"
	"sigs.k8s.io/yaml"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/events"
	"github.com/tektonstep/tekton-step-source/test/controlplane"
)

func recipesDir() string {
	return filepath.Join(controlplane.RepoRoot(), "config", "samples", "recipes")
}

// brokerFilter evaluates a Trigger's filter exactly as Knative's Broker
// filter handler does (pkg/broker/filter, filterEvent): spec.filters with the
// SubscriptionsAPI implementation when present, else spec.filter.attributes.
func brokerFilter(t *testing.T, tr *eventingv1.Trigger) eventfilter.Filter {
	switch {
	case len(tr.Spec.Filters) > 0:
		return subscriptionsapi.CreateSubscriptionsAPIFilters(zaptest.NewLogger(t), tr.Spec.Filters)
	case tr.Spec.Filter != nil:
		return attributes.NewAttributesFilter(tr.Spec.Filter.Attributes)
	}
	t.Fatalf("Trigger %s has no filter", tr.Name)
	return nil
}

// recipeFilter is the filter of the Trigger recipe in the file.
func recipeFilter(t *testing.T, file string) eventfilter.Filter {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(recipesDir(), file))
	if err != nil {
		t.Fatal(err)
	}
	tr := &eventingv1.Trigger{}
	if err := yaml.UnmarshalStrict(data, tr); err != nil {
		t.Fatal(err)
	}
	return brokerFilter(t, tr)
}

// TestTriggerRecipes checks that each Trigger in config/samples/recipes
// passes exactly the real events it is meant for, and that the apiserver
// (Knative's Trigger CRD) accepts it.
func TestTriggerRecipes(t *testing.T) {
	_, reqs := realEvents(t)
	want := map[string][]string{
		"trigger-page-on-failed-step.yaml": {"release-42-build/test/failed"},
		"trigger-count-started-steps.yaml": {
			"lint/lint/started", "release-42-build/compile/started", "release-42-build/test/started", "release-43-build/unit/started",
		},
		"trigger-finished-steps-cesql.yaml": {
			"release-42-build/compile/succeeded", "release-42-build/test/failed", "release-43-build/unit/failed",
		},
		"trigger-live-failed-steps.yaml": {"release-42-build/test/failed", "release-43-build/unit/failed"},
		"trigger-one-taskrun-first-attempt.yaml": {
			"release-42-build/compile/started", "release-42-build/compile/succeeded",
			"release-42-build/publish/skipped", "release-42-build/test/failed", "release-42-build/test/started",
		},
	}
	files, err := filepath.Glob(filepath.Join(recipesDir(), "trigger-*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	var wantNames []string
	for n := range want {
		wantNames = append(wantNames, n)
	}
	sort.Strings(wantNames)
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Fatalf("Trigger recipes (-tested +present): every trigger-*.yaml needs its expectation here\n%s", diff)
	}
	ns := cp.NewNamespace(t)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			tr := &eventingv1.Trigger{}
			if err := yaml.UnmarshalStrict(data, tr); err != nil {
				t.Fatal(err)
			}
			if _, err := controlplane.ApplyFiles(context.Background(), cp.Config, ns, f); err != nil {
				t.Fatalf("the apiserver refuses the recipe: %v", err)
			}
			filter := brokerFilter(t, tr)
			defer filter.Cleanup()
			got := keys(reqs, func(r request) bool {
				return filter.Filter(context.Background(), r.Event) == eventfilter.PassFilter
			})
			if diff := cmp.Diff(want[filepath.Base(f)], got); diff != "" {
				t.Errorf("events the Trigger passes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLiveEventsOnlyRecipe: with every real event also replayed (the
// replay extension set, as the adapter sets it), the live-only Trigger
// passes the live failed events and none of the replayed ones.
func TestLiveEventsOnlyRecipe(t *testing.T) {
	_, reqs := realEvents(t)
	filter := recipeFilter(t, "trigger-live-failed-steps.yaml")
	defer filter.Cleanup()
	var passed []string
	for _, r := range reqs {
		replayed := r.Event.Clone()
		replayed.SetExtension(events.ExtReplay, "backfill")
		for _, e := range []cloudevents.Event{r.Event, replayed} {
			if filter.Filter(context.Background(), e) == eventfilter.PassFilter {
				passed = append(passed, fmt.Sprintf("%s replayed=%v", request{Event: e}.key(), e.Extensions()[events.ExtReplay] != nil))
			}
		}
	}
	sort.Strings(passed)
	want := []string{"release-42-build/test/failed replayed=false", "release-43-build/unit/failed replayed=false"}
	if diff := cmp.Diff(want, passed); diff != "" {
		t.Errorf("events the Trigger passes (-want +got):\n%s", diff)
	}
}

// TestCountStartedStepsPerTask is what the counter behind
// trigger-count-started-steps.yaml computes from the events it receives.
func TestCountStartedStepsPerTask(t *testing.T) {
	_, reqs := realEvents(t)
	filter := recipeFilter(t, "trigger-count-started-steps.yaml")
	defer filter.Cleanup()
	counts := map[string]int{}
	for _, r := range reqs {
		if filter.Filter(context.Background(), r.Event) == eventfilter.PassFilter {
			counts[fmt.Sprint(r.Event.Extensions()[events.ExtTask])]++
		}
	}
	if diff := cmp.Diff(map[string]int{"build": 3, "lint": 1}, counts); diff != "" {
		t.Errorf("started steps per task (-want +got):\n%s", diff)
	}
}

// TestSequenceRebuildsEachTaskRun: what a consumer of one partition (one
// TaskRun: partitionkey <namespace>/<name>) gets in any order, sorted by the
// sequence extension, is the TaskRun's transitions in order.
func TestSequenceRebuildsEachTaskRun(t *testing.T) {
	ns, reqs := realEvents(t)
	byRun := map[string][]cloudevents.Event{}
	for i := len(reqs) - 1; i >= 0; i-- { // deliberately reversed
		e := reqs[i].Event
		key := fmt.Sprint(e.Extensions()[events.ExtPartitionKey])
		if want := ns + "/" + fmt.Sprint(e.Extensions()[events.ExtTaskRun]); key != want {
			t.Errorf("%s: partitionkey %q, want %q", e.ID(), key, want)
		}
		byRun[key] = append(byRun[key], e)
	}
	for key, evs := range byRun {
		sort.Slice(evs, func(i, j int) bool {
			return fmt.Sprint(evs[i].Extensions()[events.ExtSequence]) < fmt.Sprint(evs[j].Extensions()[events.ExtSequence])
		})
		var order []string
		seen := map[string]bool{}
		for _, e := range evs {
			seq := fmt.Sprint(e.Extensions()[events.ExtSequence])
			if seen[seq] {
				t.Errorf("%s: sequence %s twice", key, seq)
			}
			seen[seq] = true
			order = append(order, e.Subject()+"/"+kind(e.Type()))
		}
		if key == ns+"/release-42-build" {
			want := []string{"compile/started", "compile/succeeded", "test/started", "test/failed", "publish/skipped"}
			if diff := cmp.Diff(want, order); diff != "" {
				t.Errorf("release-42-build sorted by sequence (-want +got):\n%s", diff)
			}
		}
	}
	if len(byRun) < 3 {
		t.Errorf("%d partitions, want one per TaskRun of the scenario", len(byRun))
	}
}
