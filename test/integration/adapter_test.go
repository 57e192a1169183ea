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
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/go-cmp/cmp"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	stepadapter "github.com/tektonstep/tekton-step-source/pkg/adapter"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/test/receiver"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

const eventTimeout = 30 * time.Second

// driveFailingRun moves a 3-step TaskRun through Tekton's real sequence of
// status writes for "compile succeeds, test fails, publish is skipped".
func driveFailingRun(t *testing.T, r *sim.Run) {
	r.MustSetSteps(t, sim.Waiting(), sim.Waiting(), sim.Waiting())
	r.MustSetSteps(t, sim.Running(), sim.Running(), sim.Running())
	r.MustSetSteps(t, sim.Succeeded(), sim.Running(), sim.Running())
	r.MustSetSteps(t, sim.Succeeded(), sim.Failed(), sim.Running())
	r.MustSetSteps(t, sim.Succeeded(), sim.Failed(), sim.Skipped())
	if err := r.Finish(context.Background(), false); err != nil {
		t.Fatal(err)
	}
}

var failingRunSequence = []string{
	"build/compile/started", "build/compile/succeeded",
	"build/test/started", "build/test/failed",
	"build/publish/skipped",
}

func TestAdapterSendsStepEventsInOrder(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	cfg := sourceConfig(ns)
	startAdapter(t, cfg, sink.URL, &duckv1.CloudEventOverrides{Extensions: map[string]string{"cluster": "dev"}})
	client := tektonclient.NewForConfigOrDie(cp.Config)

	run := sim.MustCreate(t, client, ns, "build", map[string]string{"tekton.dev/task": "build-task"}, "compile", "test", "publish")
	driveFailingRun(t, run)

	evs, err := sink.WaitForCount(context.Background(), eventTimeout, len(failingRunSequence))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(failingRunSequence, sequence(evs)); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	assertUniqueIDs(t, evs)
	for _, e := range evs {
		if e.Source() != "/apis/tekton.dev/v1/namespaces/"+ns+"/taskruns/build" ||
			!strings.HasPrefix(e.ID(), string(run.UID)+".0.") ||
			e.Extensions()["tektontask"] != "build-task" || e.Extensions()["tektonnamespace"] != ns ||
			e.Extensions()["cluster"] != "dev" || fmt.Sprint(e.Extensions()["tektonattempt"]) != "0" {
			t.Errorf("event context %s", e.Context)
		}
		d := decodeData(t, e)
		if d.TaskRun.UID != run.UID || d.PodRef == nil || d.PodRef.Name != "build-pod" || d.Step == nil || d.Step.Name != e.Subject() {
			t.Errorf("event %s data = %+v", e.ID(), d)
		}
		// No kubelet serves logs here: terminal events say why the log is
		// missing instead of being dropped.
		switch kind(e.Type()) {
		case "succeeded", "failed":
			if d.Log != nil || !strings.Contains(d.LogError, "build-pod") {
				t.Errorf("event %s: log=%v logError=%q, want a log error naming the pod", e.ID(), d.Log, d.LogError)
			}
		default:
			if d.Log != nil || d.LogError != "" {
				t.Errorf("event %s: started/skipped events carry no log", e.ID())
			}
		}
	}

	// The progress is checkpointed on the TaskRun under this source's key.
	waitForCheckpoint(t, client, ns, "build", cfg.SourceUID, `"publish":2`)
}

func TestAdapterRetriesWhileTheSinkFailsAndKeepsOrder(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	sink.FailWith(http.StatusInternalServerError)
	startAdapter(t, sourceConfig(ns), sink.URL, nil)
	client := tektonclient.NewForConfigOrDie(cp.Config)

	run := sim.MustCreate(t, client, ns, "build", nil, "compile", "test", "publish")
	other := sim.MustCreate(t, client, ns, "other", nil, "only")
	driveFailingRun(t, run)
	other.MustSetSteps(t, sim.Succeeded())

	// While the sink fails, deliveries are retried and nothing is accepted.
	deadline := time.Now().Add(eventTimeout)
	for sink.Rejected() < 5 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if sink.Rejected() < 5 {
		t.Fatalf("only %d delivery attempts while the sink was down", sink.Rejected())
	}
	sink.FailWith(0)

	evs, err := sink.WaitForCount(context.Background(), eventTimeout, len(failingRunSequence)+2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(failingRunSequence, sequence(forTaskRun(evs, "build"))); diff != "" {
		t.Errorf("build events (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"other/only/started", "other/only/succeeded"}, sequence(forTaskRun(evs, "other"))); diff != "" {
		t.Errorf("other events (-want +got):\n%s", diff)
	}
	// Nothing more arrives: each transition was delivered exactly once.
	time.Sleep(time.Second)
	if got := sink.Events(); len(got) != len(evs) {
		t.Errorf("%d events after recovery settled, want %d: %v", len(got), len(evs), sequence(got))
	}
	assertUniqueIDs(t, sink.Events())
}

func TestAdapterRestartLosesNothingAndResendsNothing(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	cfg := sourceConfig(ns)
	client := tektonclient.NewForConfigOrDie(cp.Config)
	run := sim.MustCreate(t, client, ns, "build", nil, "compile", "test", "publish")

	first := startAdapter(t, cfg, sink.URL, nil)
	run.MustSetSteps(t, sim.Running(), sim.Running(), sim.Running())
	run.MustSetSteps(t, sim.Succeeded(), sim.Running(), sim.Running())
	if _, err := sink.WaitForCount(context.Background(), eventTimeout, 3); err != nil {
		t.Fatal(err)
	}
	// Let the running TaskRun's progress reach the journal, then stop the
	// adapter.
	waitForJournal(t, cfg, "build", `"compile":2`)
	first.stop(t)

	// Transitions while no adapter runs.
	run.MustSetSteps(t, sim.Succeeded(), sim.Failed(), sim.Running())
	run.MustSetSteps(t, sim.Succeeded(), sim.Failed(), sim.Skipped())

	startAdapter(t, cfg, sink.URL, nil)
	evs, err := sink.WaitForCount(context.Background(), eventTimeout, len(failingRunSequence))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	evs = sink.Events()
	if diff := cmp.Diff(failingRunSequence, sequence(evs)); diff != "" {
		t.Errorf("events across a restart (-want +got):\n%s", diff)
	}
	assertUniqueIDs(t, evs)

	// Finished: the annotation takes over and the journal entry goes.
	if err := run.Finish(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	waitForCheckpoint(t, client, ns, "build", cfg.SourceUID, `"publish":2`)
	waitForJournal(t, cfg, "build", "")
}

func waitForCheckpoint(t *testing.T, client tektonclient.Interface, ns, name, sourceUID, contains string) {
	t.Helper()
	deadline := time.Now().Add(eventTimeout)
	for time.Now().Before(deadline) {
		tr, err := client.TektonV1().TaskRuns(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err == nil && strings.Contains(tr.Annotations[checkpoint.Key(sourceUID)], contains) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("checkpoint of %s never contained %s", name, contains)
}

func TestTwoSourcesWatchOneTaskRun(t *testing.T) {
	ns := cp.NewNamespace(t)
	sinkA, sinkB := receiver.New(t), receiver.New(t)
	cfgA, cfgB := sourceConfig(ns), sourceConfig(ns)
	startAdapter(t, cfgA, sinkA.URL, nil)
	startAdapter(t, cfgB, sinkB.URL, nil)
	client := tektonclient.NewForConfigOrDie(cp.Config)

	run := sim.MustCreate(t, client, ns, "build", nil, "compile", "test", "publish")
	driveFailingRun(t, run)
	for name, sink := range map[string]*receiver.Receiver{"A": sinkA, "B": sinkB} {
		evs, err := sink.WaitForCount(context.Background(), eventTimeout, len(failingRunSequence))
		if err != nil {
			t.Fatalf("sink %s: %v", name, err)
		}
		if diff := cmp.Diff(failingRunSequence, sequence(evs)); diff != "" {
			t.Errorf("sink %s (-want +got):\n%s", name, diff)
		}
	}
	waitForCheckpoint(t, client, ns, "build", cfgA.SourceUID, `"publish":2`)
	waitForCheckpoint(t, client, ns, "build", cfgB.SourceUID, `"publish":2`)
	// The checkpoint patches never clobbered Tekton's status.
	tr, err := client.TektonV1().TaskRuns(ns).Get(context.Background(), "build", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Status.Steps) != 3 || tr.Status.CompletionTime == nil {
		t.Errorf("TaskRun status was changed: %s", sim.Describe(tr.Status.Steps))
	}
}

func TestNoEventsForTaskRunsFinishedBeforeTheSource(t *testing.T) {
	ns := cp.NewNamespace(t)
	client := tektonclient.NewForConfigOrDie(cp.Config)
	old := sim.MustCreate(t, client, ns, "old", nil, "a")
	old.MustSetSteps(t, sim.Succeeded())
	if err := old.Finish(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	// Completion times have second precision.
	time.Sleep(1100 * time.Millisecond)

	sink := receiver.New(t)
	cfg := sourceConfig(ns)
	cfg.NotBefore = metav1.Now()
	startAdapter(t, cfg, sink.URL, nil)
	live := sim.MustCreate(t, client, ns, "live", nil, "a")
	live.MustSetSteps(t, sim.Succeeded())

	if _, err := sink.WaitForCount(context.Background(), eventTimeout, 2); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if diff := cmp.Diff([]string{"live/a/started", "live/a/succeeded"}, sequence(sink.Events())); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestFiltersAndSelector(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	cfg := sourceConfig(ns)
	cfg.LabelSelector = "app=demo"
	cfg.Filters = []eventingv1.SubscriptionsAPIFilter{{Any: []eventingv1.SubscriptionsAPIFilter{
		{Exact: map[string]string{"type": "dev.tekton.event.step.failed.v1"}},
		{CESQL: "tektonstep = 'publish'"},
	}}}
	reader := sdkmetric.NewManualReader()
	startAdapter(t, cfg, sink.URL, nil, func(o *stepadapter.Options) {
		o.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	})
	client := tektonclient.NewForConfigOrDie(cp.Config)

	unlabelled := sim.MustCreate(t, client, ns, "unlabelled", nil, "compile", "test", "publish")
	driveFailingRun(t, unlabelled)
	run := sim.MustCreate(t, client, ns, "build", map[string]string{"app": "demo"}, "compile", "test", "publish")
	driveFailingRun(t, run)

	evs, err := sink.WaitForCount(context.Background(), eventTimeout, 2)
	if err != nil {
		t.Fatal(err)
	}
	// The filtered-out transitions are recorded as done too.
	waitForCheckpoint(t, client, ns, "build", cfg.SourceUID, `"publish":2`)
	evs = sink.Events()
	if diff := cmp.Diff([]string{"build/test/failed", "build/publish/skipped"}, sequence(evs)); diff != "" {
		t.Errorf("filtered events (-want +got):\n%s", diff)
	}
	counts := counters(t, reader)
	if counts[stepadapter.MetricDelivered] != 2 || counts[stepadapter.MetricFiltered] != 3 {
		t.Errorf("metrics = %v, want 2 delivered and 3 filtered", counts)
	}
}

// counters sums each Int64 counter the adapter recorded.
func counters(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	return sumCounters(t, reader, func(name string, _ attribute.Set) string { return name })
}

// sumCounters adds up the int64 counters' data points by the key of their
// name and attributes ("" leaves a point out).
func sumCounters(t *testing.T, reader *sdkmetric.ManualReader, key func(name string, attrs attribute.Set) string) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range sum.DataPoints {
					if k := key(m.Name, dp.Attributes); k != "" {
						out[k] += dp.Value
					}
				}
			}
		}
	}
	return out
}

func TestRetriedTaskRunGetsNewIDs(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	startAdapter(t, sourceConfig(ns), sink.URL, nil)
	client := tektonclient.NewForConfigOrDie(cp.Config)

	run := sim.MustCreate(t, client, ns, "flaky", nil, "a")
	run.MustSetSteps(t, sim.Failed())
	if err := run.Finish(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if _, err := sink.WaitForCount(context.Background(), eventTimeout, 2); err != nil {
		t.Fatal(err)
	}
	if err := run.Retry(context.Background()); err != nil {
		t.Fatal(err)
	}
	run.MustSetSteps(t, sim.Succeeded())
	evs, err := sink.WaitForCount(context.Background(), eventTimeout, 4)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range evs {
		ids = append(ids, strings.TrimPrefix(e.ID(), string(run.UID)+"."))
	}
	if diff := cmp.Diff([]string{"0.a.started", "0.a.failed", "1.a.started", "1.a.succeeded"}, ids); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
	if fmt.Sprint(evs[3].Extensions()["tektonattempt"]) != "1" || decodeData(t, evs[3]).PodRef.Name != "flaky-pod-retry1" {
		t.Errorf("retry event %s", evs[3])
	}
}

// TestOneTaskRunsRetriesDoNotHoldUpOthers: while the sink refuses the
// events of one TaskRun, which the adapter retries with backoff, another
// TaskRun's events flow; the refused ones arrive, in order, once the sink
// takes them.
func TestOneTaskRunsRetriesDoNotHoldUpOthers(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	var refusing atomic.Bool
	refusing.Store(true)
	sink.Refuse(func(e cloudevents.Event) int {
		if refusing.Load() && e.Extensions()["tektontaskrun"] == "stuck" {
			return http.StatusServiceUnavailable
		}
		return 0
	})
	// One delivery worker: a retry that held its worker would hold up
	// everything else.
	startAdapter(t, sourceConfig(ns), sink.URL, nil, func(o *stepadapter.Options) { o.MaxInFlight = 1 })
	client := tektonclient.NewForConfigOrDie(cp.Config)
	stuck := sim.MustCreate(t, client, ns, "stuck", nil, "a", "b")
	stuck.MustSetSteps(t, sim.Running(), sim.Running())
	stuck.MustSetSteps(t, sim.Succeeded(), sim.Running())
	if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, eventTimeout, true,
		func(context.Context) (bool, error) { return sink.Rejected() >= 3, nil }); err != nil {
		t.Fatalf("the stuck TaskRun's event was refused %d times, want at least 3 retries", sink.Rejected())
	}

	free := sim.MustCreate(t, client, ns, "free", nil, "a", "b")
	free.MustSetSteps(t, sim.Running(), sim.Running())
	free.MustSetSteps(t, sim.Succeeded(), sim.Running())
	free.MustSetSteps(t, sim.Succeeded(), sim.Succeeded())
	evs, err := sink.WaitForCount(context.Background(), eventTimeout, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"free/a/started", "free/a/succeeded", "free/b/started", "free/b/succeeded"}
	if diff := cmp.Diff(want, sequence(evs)); diff != "" {
		t.Errorf("events while the stuck TaskRun is retried (-want +got):\n%s", diff)
	}

	refusing.Store(false)
	evs, err = sink.WaitForCount(context.Background(), eventTimeout, 7)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"stuck/a/started", "stuck/a/succeeded", "stuck/b/started"}, sequence(forTaskRun(evs, "stuck"))); diff != "" {
		t.Errorf("the stuck TaskRun's events once the sink takes them (-want +got):\n%s", diff)
	}
	assertUniqueIDs(t, evs)
}

func TestSinkRejectionIsNotRetriedForever(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	sink.FailWith(http.StatusBadRequest)
	cfg := sourceConfig(ns)
	reader := sdkmetric.NewManualReader()
	startAdapter(t, cfg, sink.URL, nil, func(o *stepadapter.Options) {
		o.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	})
	client := tektonclient.NewForConfigOrDie(cp.Config)
	run := sim.MustCreate(t, client, ns, "build", nil, "a")
	run.MustSetSteps(t, sim.Succeeded())
	waitForJournal(t, cfg, "build", `"a":2`)
	if got := sink.Rejected(); got != 2 {
		t.Errorf("the sink saw %d attempts, want exactly 2 (one per transition, no retries of a 400)", got)
	}
	if counts := counters(t, reader); counts[stepadapter.MetricRejected] != 2 || counts[stepadapter.MetricDelivered] != 0 {
		t.Errorf("metrics = %v, want 2 rejected", counts)
	}
}

// TestRunningProgressGoesToTheJournal: a running TaskRun's progress is
// written to the source's journal ConfigMap once the checkpoint interval
// ends, even if the TaskRun does not change again, and the TaskRun itself
// is not written until its attempt is finished.
func TestRunningProgressGoesToTheJournal(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	cfg := sourceConfig(ns)
	startAdapter(t, cfg, sink.URL, nil, func(o *stepadapter.Options) { o.CheckpointInterval = 2 * time.Second })
	client := tektonclient.NewForConfigOrDie(cp.Config)
	run := sim.MustCreate(t, client, ns, "build", nil, "compile", "test")
	run.MustSetSteps(t, sim.Running(), sim.Running())
	run.MustSetSteps(t, sim.Succeeded(), sim.Running())
	before, err := client.TektonV1().TaskRuns(ns).Get(context.Background(), "build", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sink.WaitForCount(context.Background(), eventTimeout, 3); err != nil {
		t.Fatal(err)
	}
	waitForJournal(t, cfg, "build", `"t":"`+ns+`/build","a":0,"s":{"compile":2,"test":1}`)
	after, err := client.TektonV1().TaskRuns(ns).Get(context.Background(), "build", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != before.ResourceVersion {
		t.Errorf("the adapter wrote the running TaskRun (resourceVersion %s -> %s, annotations %v)",
			before.ResourceVersion, after.ResourceVersion, after.Annotations)
	}

	// The journal belongs to the source: garbage collected with it.
	cm, err := kubernetes.NewForConfigOrDie(cp.Config).CoreV1().ConfigMaps(ns).Get(context.Background(), adaptercontract.JournalName(cfg.SourceUID), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if refs := cm.OwnerReferences; len(refs) != 1 || refs[0].UID != types.UID(cfg.SourceUID) || refs[0].Kind != "TektonStepSource" ||
		refs[0].APIVersion != "sources.knative.dev/v1alpha1" || refs[0].Name != cfg.SourceName {
		t.Errorf("journal ownerReferences = %+v, want the source", refs)
	}
	if got := cm.Labels[adaptercontract.SourceLabel]; got != cfg.SourceName {
		t.Errorf("journal label %s = %q, want %q", adaptercontract.SourceLabel, got, cfg.SourceName)
	}

	// Finished: written to the annotation at once, and dropped from the journal.
	run.MustSetSteps(t, sim.Succeeded(), sim.Succeeded())
	if err := run.Finish(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	waitForCheckpoint(t, client, ns, "build", cfg.SourceUID, `"test":2`)
	waitForJournal(t, cfg, "build", "")
}

// TestJournalIsReadAtStartAndPruned: an adapter starting with a journal
// does not send again what it records, drops the entries of TaskRuns that
// are gone, and removes the entry of a TaskRun deleted while it runs.
func TestJournalIsReadAtStartAndPruned(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	cfg := sourceConfig(ns)
	client := tektonclient.NewForConfigOrDie(cp.Config)
	run := sim.MustCreate(t, client, ns, "build", nil, "compile", "test")
	run.MustSetSteps(t, sim.Succeeded(), sim.Running())

	// What a previous adapter of the source recorded: compile done for
	// build, and an entry of a TaskRun deleted since.
	recorded := &checkpoint.Progress{}
	for _, tr := range []transitions.Transition{
		{Kind: transitions.Started, StepState: pipelinev1.StepState{Name: "compile"}},
		{Kind: transitions.Succeeded, StepState: pipelinev1.StepState{Name: "compile"}},
	} {
		recorded.Record(tr)
	}
	build, err := checkpoint.EncodeEntry(checkpoint.Entry{TaskRun: types.NamespacedName{Namespace: ns, Name: "build"}, Progress: recorded})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := checkpoint.EncodeEntry(checkpoint.Entry{TaskRun: types.NamespacedName{Namespace: ns, Name: "gone"}, Progress: recorded})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := journal(t, cfg).Write(context.Background(), map[types.UID]string{run.UID: build, "0b3f9c1e-gone": gone}, nil); err != nil {
		t.Fatal(err)
	}

	startAdapter(t, cfg, sink.URL, nil)
	if _, err := sink.WaitForCount(context.Background(), eventTimeout, 1); err != nil {
		t.Fatal(err)
	}
	waitForJournal(t, cfg, "gone", "")
	waitForJournal(t, cfg, "build", `"test":1`)
	time.Sleep(time.Second)
	if diff := cmp.Diff([]string{"build/test/started"}, sequence(sink.Events())); diff != "" {
		t.Errorf("events after a start with a journal (-want +got):\n%s", diff)
	}

	if err := client.TektonV1().TaskRuns(ns).Delete(context.Background(), "build", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForJournal(t, cfg, "build", "")
}

// TestFullJournalFallsBackToAnnotations: once the journal holds
// JournalMaxBytes, further running TaskRuns are checkpointed in their own
// annotation, and a restart still resends nothing.
func TestFullJournalFallsBackToAnnotations(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	cfg := sourceConfig(ns)
	client := tektonclient.NewForConfigOrDie(cp.Config)
	journaled := sim.MustCreate(t, client, ns, "first", nil, "a")
	// Room for first's entry, not for a second one.
	started := &checkpoint.Progress{}
	started.Record(transitions.Transition{Kind: transitions.Started, StepState: pipelinev1.StepState{Name: "a"}})
	entry, err := checkpoint.EncodeEntry(checkpoint.Entry{TaskRun: types.NamespacedName{Namespace: ns, Name: "first"}, Progress: started})
	if err != nil {
		t.Fatal(err)
	}
	tiny := func(o *stepadapter.Options) { o.JournalMaxBytes = checkpoint.EntrySize(journaled.UID, entry) + 10 }
	first := startAdapter(t, cfg, sink.URL, nil, tiny)
	journaled.MustSetSteps(t, sim.Running())
	waitForJournal(t, cfg, "first", `"a":1`)

	annotated := sim.MustCreate(t, client, ns, "second", nil, "a", "b")
	annotated.MustSetSteps(t, sim.Succeeded(), sim.Running())
	waitForCheckpoint(t, client, ns, "second", cfg.SourceUID, `"s":{"a":2,"b":1}`)
	waitForJournal(t, cfg, "second", "")
	first.stop(t)

	startAdapter(t, cfg, sink.URL, nil, tiny)
	annotated.MustSetSteps(t, sim.Succeeded(), sim.Succeeded())
	journaled.MustSetSteps(t, sim.Succeeded())
	if _, err := sink.WaitForCount(context.Background(), eventTimeout, 6); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	want := []string{"first/a/started", "first/a/succeeded", "second/a/started", "second/a/succeeded", "second/b/started", "second/b/succeeded"}
	got := sequence(sink.Events())
	sort.Strings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events across a restart (-want +got):\n%s", diff)
	}
	assertUniqueIDs(t, sink.Events())
}
