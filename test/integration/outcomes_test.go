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
	"k8s.io/client-go/kubernetes"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"

	stepadapter "github.com/tektonstep/tekton-step-source/pkg/adapter"
	"github.com/tektonstep/tekton-step-source/test/receiver"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// TestEveryEventAccountedFor: without a dead-letter sink, each transition
// ends delivered, filtered or rejected, and the counts add up to the
// workload's transitions (none dead-lettered; TestDeadLetterSink has the
// fourth outcome); a rejected event is a Warning Event on the source
// naming its id.
func TestEveryEventAccountedFor(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	// The sink refuses failed steps for good.
	sink.Refuse(func(e cloudevents.Event) int {
		if e.Type() == "dev.tekton.event.step.failed.v1" {
			return http.StatusBadRequest
		}
		return 0
	})
	cfg := sourceConfig(ns)
	// Started events of step "noise" are filtered out.
	cfg.Filters = []eventingv1.SubscriptionsAPIFilter{{Not: &eventingv1.SubscriptionsAPIFilter{All: []eventingv1.SubscriptionsAPIFilter{
		{Exact: map[string]string{"type": "dev.tekton.event.step.started.v1"}},
		{Exact: map[string]string{"subject": "noise"}},
	}}}}
	reader := sdkmetric.NewManualReader()
	startAdapter(t, cfg, sink.URL, nil, func(o *stepadapter.Options) {
		o.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	})
	client := tektonclient.NewForConfigOrDie(cp.Config)
	ctx := context.Background()

	// Per TaskRun: noise started (filtered), noise succeeded, check started,
	// check failed (rejected) or succeeded, last skipped or started+succeeded.
	const runs = 6
	transitions := 0
	for i := range runs {
		r := sim.MustCreate(t, client, ns, fmt.Sprintf("acct-%d", i), nil, "noise", "check", "last")
		if i%2 == 0 {
			if err := r.Complete(ctx, false, sim.Succeeded(), sim.Failed(), sim.Skipped()); err != nil {
				t.Fatal(err)
			}
			transitions += 5
		} else {
			if err := r.Complete(ctx, true, sim.Succeeded(), sim.Succeeded(), sim.Succeeded()); err != nil {
				t.Fatal(err)
			}
			transitions += 6
		}
	}
	const rejected = runs / 2
	const filtered = runs
	counts := waitForCounts(t, reader, int64(transitions))
	deadline := time.Now().Add(eventTimeout)
	if counts[stepadapter.MetricDelivered] != int64(transitions-filtered-rejected) || counts[stepadapter.MetricFiltered] != filtered ||
		counts[stepadapter.MetricRejected] != rejected || counts[stepadapter.MetricDeadLettered] != 0 {
		t.Errorf("counts %v; want %d delivered, %d filtered, %d rejected (%d transitions)", counts,
			transitions-filtered-rejected, filtered, rejected, transitions)
	}
	if got := len(sink.Events()); got != transitions-filtered-rejected {
		t.Errorf("the sink took %d events, want %d", got, transitions-filtered-rejected)
	}

	// The rejections are Warning Events on the source.
	var warnings []corev1.Event
	for time.Now().Before(deadline) {
		list, err := kubernetes.NewForConfigOrDie(cp.Config).CoreV1().Events(ns).List(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("involvedObject.uid", cfg.SourceUID).String(),
		})
		if err != nil {
			t.Fatal(err)
		}
		if warnings = list.Items; len(warnings) > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(warnings) == 0 {
		t.Fatal("no Event on the source for the rejected events")
	}
	for _, w := range warnings {
		if w.Type != corev1.EventTypeWarning || w.Reason != stepadapter.ReasonEventRejected || w.InvolvedObject.Kind != "TektonStepSource" ||
			!strings.Contains(w.Message, "The sink answered 400 to event ") || !strings.Contains(w.Message, ".check.failed") {
			t.Errorf("Event %s %s on %s: %q", w.Type, w.Reason, w.InvolvedObject.Kind, w.Message)
		}
	}
}

// TestSinkNotFoundIsRetried: a sink answering 404 (a Broker's ingress while
// the Broker is re-created) is retried, as Knative's dispatcher does, and
// every event arrives once it answers again.
func TestSinkNotFoundIsRetried(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	sink.FailWith(http.StatusNotFound)
	startAdapter(t, sourceConfig(ns), sink.URL, nil)
	client := tektonclient.NewForConfigOrDie(cp.Config)
	run := sim.MustCreate(t, client, ns, "build", nil, "a", "b")
	if err := run.Complete(context.Background(), true, sim.Succeeded(), sim.Succeeded()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(eventTimeout)
	for sink.Rejected() < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if sink.Rejected() < 3 {
		t.Fatalf("the sink saw %d attempts of the first event, want it retried", sink.Rejected())
	}
	sink.FailWith(0)
	evs, err := sink.WaitForCount(context.Background(), eventTimeout, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"build/a/started", "build/a/succeeded", "build/b/started", "build/b/succeeded"}
	if diff := cmp.Diff(want, sequence(evs)); diff != "" {
		t.Errorf("events after the 404s (-want +got):\n%s", diff)
	}
}
