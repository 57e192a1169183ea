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
	"net/http"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	stepadapter "github.com/tektonstep/tekton-step-source/pkg/adapter"
	"github.com/tektonstep/tekton-step-source/test/receiver"
)

// TestEveryTransitionHasOneOutcome is issue 14's accounting at workload
// size: 1,000 transitions while the sink first answers 404 for 20 s (a
// Broker's ingress being re-created: retried), then refuses some events
// for good (to the dead-letter sink, which refuses some of those in turn).
// Each transition ends delivered, filtered, dead-lettered or rejected,
// exactly as predicted, and the four counts add up to the workload.
func TestEveryTransitionHasOneOutcome(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink, dls := receiver.New(t), receiver.New(t)
	sink.FailWith(http.StatusNotFound)
	refused := func(e cloudevents.Event) bool {
		return e.Subject() == "s1" || (e.Subject() == "s2" && kindOf(e.Type()) == "succeeded")
	}
	sink.Respond(func(e cloudevents.Event) receiver.Response {
		if refused(e) {
			return receiver.Response{Status: http.StatusBadRequest}
		}
		return receiver.Response{}
	})
	dls.Refuse(func(e cloudevents.Event) int {
		if e.Subject() == "s2" {
			return http.StatusForbidden
		}
		return 0
	})
	cfg := newSourceConfig(ns)
	dlsURL, err := apis.ParseURL(dls.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Delivery = &eventingduckv1.DeliverySpec{DeadLetterSink: &duckv1.Destination{URI: dlsURL}}
	// s0's started events are filtered out.
	cfg.Filters = []eventingv1.SubscriptionsAPIFilter{{Not: &eventingv1.SubscriptionsAPIFilter{All: []eventingv1.SubscriptionsAPIFilter{
		{Exact: map[string]string{"type": "dev.tekton.event.step.started.v1"}},
		{Exact: map[string]string{"subject": "s0"}},
	}}}}
	reader := sdkmetric.NewManualReader()
	startInProcess(t, cfg, sink.URL, 16, func(o *stepadapter.Options) {
		o.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	})

	start := time.Now()
	thousand.drive(t, ns, "acct")
	time.Sleep(time.Until(start.Add(20 * time.Second)))
	notFound := sink.Rejected()
	sink.FailWith(0)

	// Per TaskRun: s0 started filtered; s1 started and succeeded
	// dead-lettered; s2 succeeded rejected (the dead-letter sink refuses
	// it); the other 6 delivered.
	runs := int64(thousand.runs)
	want := map[string]int64{
		stepadapter.MetricDelivered:    6 * runs,
		stepadapter.MetricFiltered:     1 * runs,
		stepadapter.MetricDeadLettered: 2 * runs,
		stepadapter.MetricRejected:     1 * runs,
	}
	var got map[string]int64
	for deadline := time.Now().Add(2 * time.Minute); ; {
		got = outcomeCounts(t, reader)
		total := int64(0)
		for _, n := range got {
			total += n
		}
		if total >= int64(thousand.transitions()) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // anything extra would show up now
	got = outcomeCounts(t, reader)
	total := int64(0)
	for name, n := range want {
		if got[name] != n {
			t.Errorf("%s = %d, want %d", name, got[name], n)
		}
		total += got[name]
	}
	if total != int64(thousand.transitions()) {
		t.Errorf("the four outcomes add up to %d, want the workload's %d transitions", total, thousand.transitions())
	}
	if n := distinct(sink.Events()); n != int(6*runs) {
		t.Errorf("the sink took %d distinct events, want %d", n, 6*runs)
	}
	for _, e := range dls.Events() {
		if code := fmt.Sprint(e.Extensions()["knativeerrorcode"]); code != "400" || e.Subject() != "s1" {
			t.Errorf("dead-lettered %s %s with knativeerrorcode %s, want s1's with 400", e.Subject(), e.Type(), code)
		}
	}
	t.Logf("404 for 20 s (%d attempts refused), then: %v", notFound, got)
}

// outcomeCounts sums the adapter's four outcome counters.
func outcomeCounts(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch m.Name {
			case stepadapter.MetricDelivered, stepadapter.MetricFiltered, stepadapter.MetricDeadLettered, stepadapter.MetricRejected:
				if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
					for _, dp := range sum.DataPoints {
						out[m.Name] += dp.Value
					}
				}
			}
		}
	}
	return out
}
