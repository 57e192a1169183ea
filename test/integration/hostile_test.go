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
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/go-cmp/cmp"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/ptr"

	stepadapter "github.com/tektonstep/tekton-step-source/pkg/adapter"
	"github.com/tektonstep/tekton-step-source/test/receiver"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// TestEventsThatCannotBeSent: configurations the source's validation now
// refuses, given to the adapter as an older controller (or a hand-edited
// Deployment) could: a CESQL filter that is no boolean expression (Knative's
// filter panics on it) and a ceOverrides value with a newline (net/http
// refuses the header before sending anything). The adapter keeps running,
// and each event ends dead-lettered or rejected, counted, after the retries
// a bounded delivery.retry allows (none without one), instead of crashing
// the process or being retried forever; the TaskRun's later events are not
// held behind them.
func TestEventsThatCannotBeSent(t *testing.T) {
	tests := []struct {
		name      string
		filter    string
		overrides *duckv1.CloudEventOverrides
		retry     *int32
		dls       bool
		// wantDLS: the events reach the dead-letter sink (else rejected);
		// failedAttempts: the failed attempts counted per event.
		wantDLS        bool
		failedAttempts int64
	}{
		{name: "a filter that panics, dead-letter sink", filter: "tektonstep", dls: true, wantDLS: true, failedAttempts: 1},
		{name: "a filter that panics, no delivery spec", filter: "'x'"},
		{name: "a filter that panics, retry 1", filter: "1", retry: ptr.Int32(1), dls: true, wantDLS: true, failedAttempts: 2},
		// The dead-letter client applies the same overrides: the event
		// cannot be carried there either.
		{name: "an override with a newline, dead-letter sink", overrides: &duckv1.CloudEventOverrides{Extensions: map[string]string{"env": "prod\n"}}, dls: true, failedAttempts: 1},
		{name: "an override with a newline, no delivery spec", overrides: &duckv1.CloudEventOverrides{Extensions: map[string]string{"env": "prod\n"}}},
		{name: "an override with a newline, retry 2", overrides: &duckv1.CloudEventOverrides{Extensions: map[string]string{"env": "prod\n"}}, retry: ptr.Int32(2), failedAttempts: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns := cp.NewNamespace(t)
			sink, dls := receiver.New(t), receiver.New(t)
			cfg := sourceConfig(ns)
			if tc.filter != "" {
				cfg.Filters = []eventingv1.SubscriptionsAPIFilter{{CESQL: tc.filter}}
			}
			if tc.dls || tc.retry != nil {
				cfg.Delivery = &eventingduckv1.DeliverySpec{Retry: tc.retry}
				if tc.dls {
					cfg.Delivery.DeadLetterSink = deadLetterTo(t, dls)
				}
			}
			reader := sdkmetric.NewManualReader()
			running := startAdapter(t, cfg, sink.URL, tc.overrides, func(o *stepadapter.Options) {
				o.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
			})
			client := tektonclient.NewForConfigOrDie(cp.Config)
			const runs = 2
			for i := range runs {
				r := sim.MustCreate(t, client, ns, fmt.Sprintf("run-%d", i), nil, "a", "b")
				if err := r.Complete(context.Background(), true, sim.Succeeded(), sim.Succeeded()); err != nil {
					t.Fatal(err)
				}
			}
			const transitions = runs * 4
			counts := waitForCounts(t, reader, transitions)
			select {
			case err := <-running.done:
				t.Fatalf("the adapter stopped: %v", err)
			default:
			}
			want := map[string]int64{stepadapter.MetricRejected: transitions}
			if tc.wantDLS {
				want = map[string]int64{stepadapter.MetricDeadLettered: transitions}
			}
			for _, m := range []string{stepadapter.MetricDelivered, stepadapter.MetricFiltered, stepadapter.MetricDeadLettered, stepadapter.MetricRejected} {
				if counts[m] != want[m] {
					t.Errorf("%s = %d, want %d (all counts %v)", m, counts[m], want[m], counts)
				}
			}
			if n := len(sink.Events()); n != 0 {
				t.Errorf("the sink took %d events", n)
			}
			if tc.wantDLS {
				evs, err := dls.WaitForCount(context.Background(), eventTimeout, transitions)
				if err != nil {
					t.Fatal(err)
				}
				assertUniqueIDs(t, evs)
				for _, e := range evs {
					if code := fmt.Sprint(e.Extensions()["knativeerrorcode"]); code != "500" {
						t.Errorf("event %s: knativeerrorcode %s, want 500 (no answer)", e.ID(), code)
					}
				}
			} else if n := len(dls.Events()); n != 0 {
				t.Errorf("the dead-letter sink took %d events", n)
			}
			if got := counts[stepadapter.MetricFailed]; got != transitions*tc.failedAttempts {
				t.Errorf("%d failed attempts counted, want %d per event", got, tc.failedAttempts)
			}
		})
	}
}

// TestRejectionWarningsAggregated: a burst of rejections is shown on the
// source in full, however many: the first at once, the rest as one Warning
// per interval with their count and last ids (client-go's own spam filter
// alone would show 25, then one per five minutes).
func TestRejectionWarningsAggregated(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	sink.FailWith(400)
	cfg := sourceConfig(ns)
	reader := sdkmetric.NewManualReader()
	startAdapter(t, cfg, sink.URL, nil, func(o *stepadapter.Options) {
		o.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		o.RejectionInterval = time.Second
	})
	client := tektonclient.NewForConfigOrDie(cp.Config)
	const runs = 10
	for i := range runs {
		r := sim.MustCreate(t, client, ns, fmt.Sprintf("refused-%d", i), nil, "a", "b", "c")
		if err := r.Complete(context.Background(), true, sim.Succeeded(), sim.Succeeded(), sim.Succeeded()); err != nil {
			t.Fatal(err)
		}
	}
	const transitions = runs * 6
	if counts := waitForCounts(t, reader, transitions); counts[stepadapter.MetricRejected] != transitions {
		t.Fatalf("counts %v, want %d rejected", counts, transitions)
	}
	var shown int
	var messages []string
	deadline := time.Now().Add(eventTimeout)
	for time.Now().Before(deadline) {
		shown, messages = rejectionsShown(t, ns, cfg.SourceUID)
		if shown >= transitions {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if shown != transitions {
		t.Errorf("the source's Warnings show %d rejections, want %d: %q", shown, transitions, messages)
	}
	if len(messages) > 25 {
		t.Errorf("%d Warnings for one burst: not aggregated", len(messages))
	}
	for _, m := range messages {
		if !strings.Contains(m, "The sink answered 400 to event ") {
			t.Errorf("Warning %q does not say what the sink answered", m)
		}
	}
	if t.Failed() {
		return
	}
	// A single rejection after a quiet interval is shown at once, as is.
	time.Sleep(1500 * time.Millisecond)
	r := sim.MustCreate(t, client, ns, "one-more", nil, "a")
	r.MustSetSteps(t, sim.Running())
	deadline = time.Now().Add(eventTimeout)
	for shown < transitions+1 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		shown, _ = rejectionsShown(t, ns, cfg.SourceUID)
	}
	if shown != transitions+1 {
		t.Errorf("after a quiet interval the source's Warnings show %d rejections, want %d", shown, transitions+1)
	}
}

// rejectionsShown adds up the rejections the source's EventRejected
// Warnings show: one for a single rejection's Warning, the count an
// aggregated one names ("N more events rejected since ..."), times the
// Event's count.
func rejectionsShown(t *testing.T, ns, sourceUID string) (int, []string) {
	t.Helper()
	evs := sourceWarnings(t, ns, sourceUID, stepadapter.ReasonEventRejected)
	shown := 0
	var messages []string
	for _, e := range evs {
		n := 1
		if _, err := fmt.Sscanf(e.Message, "%d more event", &n); err != nil {
			n = 1
		}
		shown += n * int(max(e.Count, 1))
		messages = append(messages, e.Message)
	}
	return shown, messages
}

// sourceWarnings lists the Warning Events of the reason on the source.
func sourceWarnings(t *testing.T, ns, sourceUID, reason string) []corev1.Event {
	t.Helper()
	list, err := kubernetes.NewForConfigOrDie(cp.Config).CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{
		FieldSelector: fields.AndSelectors(fields.OneTermEqualSelector("involvedObject.uid", sourceUID),
			fields.OneTermEqualSelector("reason", reason), fields.OneTermEqualSelector("type", corev1.EventTypeWarning)).String(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// TestPipelineLabelsAreNotMembership: a standalone TaskRun labelled as a
// PipelineRun's (labels its author sets) is placed in no pipeline: its
// events carry tektontask but none of tektonpipelinerun, tektonpipeline,
// tektonpipelinetask; a TaskRun the PipelineRun controls carries all
// three.
func TestPipelineLabelsAreNotMembership(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	startAdapter(t, sourceConfig(ns), sink.URL, nil)
	client := tektonclient.NewForConfigOrDie(cp.Config)
	ctx := context.Background()
	labels := map[string]string{"tekton.dev/task": "deploy", "tekton.dev/pipelineRun": "release-42",
		"tekton.dev/pipeline": "release", "tekton.dev/pipelineTask": "deploy"}
	// Tekton's way: owned by the PipelineRun (the simulator creates it).
	owned := sim.MustCreate(t, client, ns, "owned", labels, "a")
	// The author's way: the same labels on a TaskRun of its own.
	standalone := sim.MustCreate(t, client, ns, "standalone", nil, "a")
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": labels}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.TektonV1().TaskRuns(ns).Patch(ctx, standalone.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*sim.Run{owned, standalone} {
		if err := r.Complete(ctx, true, sim.Succeeded()); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := sink.WaitFor(ctx, eventTimeout, func(evs []cloudevents.Event) bool {
		return len(forTaskRun(evs, "owned")) == 2 && len(forTaskRun(evs, "standalone")) == 2
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{
		"owned":      {"tektontask": "deploy", "tektonpipelinerun": "release-42", "tektonpipeline": "release", "tektonpipelinetask": "deploy"},
		"standalone": {"tektontask": "deploy"},
	}
	for _, e := range evs {
		got := map[string]string{}
		for _, k := range []string{"tektontask", "tektonpipelinerun", "tektonpipeline", "tektonpipelinetask"} {
			if v, ok := e.Extensions()[k]; ok {
				got[k] = fmt.Sprint(v)
			}
		}
		run := fmt.Sprint(e.Extensions()["tektontaskrun"])
		if diff := cmp.Diff(want[run], got); diff != "" {
			t.Errorf("%s event %s: extensions (-want +got):\n%s", run, e.ID(), diff)
		}
	}
}
