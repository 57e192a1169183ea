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
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/go-cmp/cmp"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	sourcesclient "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned"
	"github.com/tektonstep/tekton-step-source/test/receiver"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// replaySource creates the TektonStepSource an in-process adapter watches
// for its replays (no controller runs here: the adapter alone acts on
// spec.replays and writes status.replays) and the adapter's config for it.
func replaySource(t *testing.T, ns string) (*adaptercontract.Config, sourcesclient.Interface) {
	t.Helper()
	sources := sourcesclient.NewForConfigOrDie(cp.Config)
	src, err := sources.SourcesV1alpha1().TektonStepSources(ns).Create(context.Background(), &v1alpha1.TektonStepSource{
		ObjectMeta: metav1.ObjectMeta{Name: "replayed"},
		Spec:       v1alpha1.TektonStepSourceSpec{SourceSpec: duckv1.SourceSpec{Sink: duckv1.Destination{URI: apis.HTTP("sink.example")}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := sourceConfig(ns)
	cfg.SourceUID, cfg.SourceName = string(src.UID), src.Name
	return cfg, sources
}

// requestReplay lists the replays in spec.replays, as kn and kubectl do
// (a merge patch of the spec).
func requestReplay(t *testing.T, sources sourcesclient.Interface, cfg *adaptercontract.Config, replays ...v1alpha1.ReplaySpec) {
	t.Helper()
	patch, err := json.Marshal(map[string]interface{}{"spec": map[string]interface{}{"replays": replays}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sources.SourcesV1alpha1().TektonStepSources(cfg.SourceNamespace).Patch(context.Background(), cfg.SourceName,
		types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitForReplay waits until status.replays shows the replay succeeded.
func waitForReplay(t *testing.T, sources sourcesclient.Interface, cfg *adaptercontract.Config, name string) v1alpha1.ReplayStatus {
	t.Helper()
	var last []v1alpha1.ReplayStatus
	deadline := time.Now().Add(eventTimeout)
	for time.Now().Before(deadline) {
		src, err := sources.SourcesV1alpha1().TektonStepSources(cfg.SourceNamespace).Get(context.Background(), cfg.SourceName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		last = src.Status.Replays
		for _, r := range last {
			if r.Name == name && r.State == v1alpha1.ReplaySucceeded {
				return r
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("replay %s did not succeed; status.replays: %+v", name, last)
	return v1alpha1.ReplayStatus{}
}

// replayedBy splits the events received into the live ones and those of
// the replay.
func replayedBy(evs []cloudevents.Event, replay string) (live, replayed []cloudevents.Event) {
	for _, e := range evs {
		switch e.Extensions()["replay"] {
		case nil:
			live = append(live, e)
		case replay:
			replayed = append(replayed, e)
		}
	}
	return live, replayed
}

func ids(evs []cloudevents.Event) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		out = append(out, e.ID())
	}
	return out
}

// afterSecond waits for the next second and returns it: Tekton's times
// have second resolution, so a window boundary between two runs needs one.
func afterSecond() metav1.Time {
	next := time.Now().Truncate(time.Second).Add(time.Second)
	time.Sleep(time.Until(next) + 10*time.Millisecond)
	return metav1.NewTime(next)
}

// TestReplay: a replay re-sends exactly the transitions of its window, with
// their original ids, in sequence order per TaskRun, marked replayed; live
// events of a TaskRun running meanwhile arrive whole and in order; a
// second identical request, and an adapter restart, send nothing more; a
// replay of one TaskRun's failures sends only those.
func TestReplay(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	cfg, sources := replaySource(t, ns)
	client := tektonclient.NewForConfigOrDie(cp.Config)
	adapter := startAdapter(t, cfg, sink.URL, nil)

	// before: sent before the window; within: in it; running: after it,
	// and still running while the replay runs.
	driveFailingRun(t, sim.MustCreate(t, client, ns, "before", nil, "compile", "test", "publish"))
	if _, err := sink.WaitForCount(context.Background(), eventTimeout, 5); err != nil {
		t.Fatal(err)
	}
	since := afterSecond()
	driveFailingRun(t, sim.MustCreate(t, client, ns, "within", nil, "compile", "test", "publish"))
	if _, err := sink.WaitForCount(context.Background(), eventTimeout, 10); err != nil {
		t.Fatal(err)
	}
	until := afterSecond()
	running := sim.MustCreate(t, client, ns, "running", nil, "compile", "test", "publish")
	running.MustSetSteps(t, sim.Running(), sim.Running(), sim.Running())

	window := v1alpha1.ReplaySpec{Name: "window", Since: since, Until: &until}
	requestReplay(t, sources, cfg, window)
	running.MustSetSteps(t, sim.Succeeded(), sim.Running(), sim.Running())
	running.MustSetSteps(t, sim.Succeeded(), sim.Failed(), sim.Running())
	running.MustSetSteps(t, sim.Succeeded(), sim.Failed(), sim.Skipped())
	if err := running.Finish(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	st := waitForReplay(t, sources, cfg, "window")
	evs, err := sink.WaitForCount(context.Background(), eventTimeout, 20)
	if err != nil {
		t.Fatal(err)
	}
	live, replayed := replayedBy(evs, "window")
	wantLive := append(append(sequenceOf("before"), sequenceOf("within")...), sequenceOf("running")...)
	if diff := cmp.Diff(wantLive, sequence(live)); diff != "" {
		t.Errorf("live events (-want +got):\n%s", diff)
	}
	assertUniqueIDs(t, live)
	if diff := cmp.Diff(sequenceOf("within"), sequence(replayed)); diff != "" {
		t.Errorf("replayed events (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ids(forTaskRun(live, "within")), ids(replayed)); diff != "" {
		t.Errorf("replayed ids, want the live ones (-want +got):\n%s", diff)
	}
	var seqs []string
	for _, e := range replayed {
		seqs = append(seqs, fmt.Sprint(e.Extensions()["sequence"]))
	}
	if !slices.IsSorted(seqs) {
		t.Errorf("replayed sequences %v not in order", seqs)
	}
	if st.TaskRuns != 1 || st.Events != 5 || st.CompletionTime == nil {
		t.Errorf("status.replays: %+v, want 1 TaskRun, 5 events, a completion time", st)
	}

	// Asked again, and after a restart: done once per name.
	requestReplay(t, sources, cfg, window)
	adapter.stop(t)
	startAdapter(t, cfg, sink.URL, nil)
	// The next replay, of one TaskRun's failures since the beginning,
	// also shows that the restarted adapter acts on replays.
	failures := v1alpha1.ReplaySpec{Name: "failures", Since: metav1.NewTime(since.Add(-time.Hour)), TaskRun: "before", Types: []string{"failed"}}
	requestReplay(t, sources, cfg, window, failures)
	waitForReplay(t, sources, cfg, "failures")
	time.Sleep(time.Second)
	evs = sink.Events()
	if _, again := replayedBy(evs, "window"); len(again) != len(replayed) {
		t.Errorf("the replay was done again: %d replayed events, want %d", len(again), len(replayed))
	}
	if _, failed := replayedBy(evs, "failures"); !cmp.Equal(sequence(failed), []string{"before/test/failed"}) {
		t.Errorf("replay of one TaskRun's failures sent %v", sequence(failed))
	}
	if len(evs) != 21 {
		t.Errorf("%d events in all, want 15 live and 6 replayed", len(evs))
	}
}

// sequenceOf is failingRunSequence for the TaskRun of that name.
func sequenceOf(name string) []string {
	out := make([]string, 0, len(failingRunSequence))
	for _, s := range failingRunSequence {
		out = append(out, name+s[len("build"):])
	}
	return out
}

// TestReplayThroughFiltersAndDeadLetterSink: replayed events take the
// source's path: its filters drop what they drop, and what the sink
// refuses goes to the dead-letter sink with Knative's error extensions.
func TestReplayThroughFiltersAndDeadLetterSink(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	dls := receiver.New(t)
	cfg, sources := replaySource(t, ns)
	cfg.Filters = []eventingv1.SubscriptionsAPIFilter{{Exact: map[string]string{"type": v1alpha1.StepFailedEventType}}}
	cfg.Delivery = &eventingduckv1.DeliverySpec{DeadLetterSink: deadLetterTo(t, dls)}
	client := tektonclient.NewForConfigOrDie(cp.Config)
	startAdapter(t, cfg, sink.URL, nil)

	since := afterSecond()
	driveFailingRun(t, sim.MustCreate(t, client, ns, "build", nil, "compile", "test", "publish"))
	if _, err := sink.WaitForCount(context.Background(), eventTimeout, 1); err != nil {
		t.Fatal(err)
	}
	// The sink takes live events only.
	sink.Refuse(func(e cloudevents.Event) int {
		if e.Extensions()["replay"] != nil {
			return 400
		}
		return 0
	})
	requestReplay(t, sources, cfg, v1alpha1.ReplaySpec{Name: "again", Since: since})
	st := waitForReplay(t, sources, cfg, "again")
	dead, err := dls.WaitForCount(context.Background(), eventTimeout, 1)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if got := sequence(sink.Events()); !cmp.Equal(got, []string{"build/test/failed"}) {
		t.Errorf("sink got %v, want the live failed event only", got)
	}
	dead = dls.Events()
	if len(dead) != 1 || dead[0].Extensions()["replay"] != "again" || fmt.Sprint(dead[0].Extensions()["knativeerrorcode"]) != "400" ||
		dead[0].ID() != sink.Events()[0].ID() {
		t.Errorf("dead-lettered %v, want the replayed failed event with knativeerrorcode 400", dead)
	}
	// Filtered-out events count among the replay's events.
	if st.Events != 5 || st.TaskRuns != 1 {
		t.Errorf("status.replays: %+v, want 1 TaskRun and 5 events", st)
	}
}
