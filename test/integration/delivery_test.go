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
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/go-cmp/cmp"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/ptr"

	stepadapter "github.com/tektonstep/tekton-step-source/pkg/adapter"
	"github.com/tektonstep/tekton-step-source/test/receiver"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// deadLetterTo is a spec.delivery whose dead-letter sink is the receiver.
func deadLetterTo(t *testing.T, dls *receiver.Receiver) *duckv1.Destination {
	t.Helper()
	u, err := apis.ParseURL(dls.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &duckv1.Destination{URI: u}
}

// TestDeadLetterSink: with spec.delivery, an event the sink refuses with
// an answer retrying cannot change (400), and one that still fails after
// delivery.retry retries (503), go to the dead-letter sink with Knative's
// error extensions; the rest reach the sink; the four outcomes add up to
// the workload's transitions.
func TestDeadLetterSink(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink, dls := receiver.New(t), receiver.New(t)
	sink.Respond(func(e cloudevents.Event) receiver.Response {
		switch {
		case e.Subject() == "lint" && e.Type() == "dev.tekton.event.step.started.v1":
			return receiver.Response{Status: http.StatusBadRequest, Body: "no lint here"}
		case e.Subject() == "flaky":
			return receiver.Response{Status: http.StatusServiceUnavailable}
		}
		return receiver.Response{}
	})
	cfg := sourceConfig(ns)
	cfg.Delivery = &eventingduckv1.DeliverySpec{DeadLetterSink: deadLetterTo(t, dls), Retry: ptr.Int32(2), BackoffDelay: ptr.String("PT0.1S")}
	reader := sdkmetric.NewManualReader()
	startAdapter(t, cfg, sink.URL, nil, func(o *stepadapter.Options) {
		o.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	})
	client := tektonclient.NewForConfigOrDie(cp.Config)
	ctx := context.Background()
	const runs = 3
	for i := range runs {
		r := sim.MustCreate(t, client, ns, fmt.Sprintf("dl-%d", i), nil, "lint", "flaky", "test")
		if err := r.Complete(ctx, true, sim.Succeeded(), sim.Succeeded(), sim.Succeeded()); err != nil {
			t.Fatal(err)
		}
	}
	// Per run: lint started (400), flaky started and succeeded (503
	// three times each), go to the dead-letter sink; 3 events to the sink.
	dead, err := dls.WaitForCount(ctx, eventTimeout, 3*runs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sink.WaitForCount(ctx, eventTimeout, 3*runs); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // nothing more may arrive
	sinkURL, err := url.Parse(sink.URL)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range dls.Events() {
		ext := e.Extensions()
		dest, _ := ext["knativeerrordest"].(string)
		code, data := fmt.Sprint(ext["knativeerrorcode"]), fmt.Sprint(ext["knativeerrordata"])
		if u, err := url.Parse(dest); err != nil || u.Host != sinkURL.Host {
			t.Errorf("%s: knativeerrordest %q, want the sink %s", e.ID(), dest, sink.URL)
		}
		body, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			t.Errorf("%s: knativeerrordata %q is not base64: %v", e.ID(), data, err)
		}
		got = append(got, fmt.Sprintf("%s/%s/%s code=%s body=%q", ext["tektontaskrun"], e.Subject(), kind(e.Type()), code, body))
	}
	sort.Strings(got)
	var want []string
	for i := range runs {
		want = append(want,
			fmt.Sprintf("dl-%d/flaky/started code=503 body=\"\"", i),
			fmt.Sprintf("dl-%d/flaky/succeeded code=503 body=\"\"", i),
			fmt.Sprintf("dl-%d/lint/started code=400 body=\"no lint here\"", i))
	}
	sort.Strings(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dead-lettered events (-want +got):\n%s", diff)
	}
	// Each dead-lettered event is the one the sink was offered: same id.
	attempts := map[string]int{}
	for _, a := range sink.Attempts() {
		attempts[a.ID]++
	}
	for _, e := range dead {
		want := 3 // the first attempt and delivery.retry=2 retries
		if e.Subject() == "lint" {
			want = 1 // a 400 is not retried
		}
		if attempts[e.ID()] != want {
			t.Errorf("%s (%s %s): %d attempts at the sink, want %d", e.ID(), e.Subject(), kind(e.Type()), attempts[e.ID()], want)
		}
	}
	counts := waitForCounts(t, reader, 6*runs)
	if counts[stepadapter.MetricDeadLettered] != 3*runs || counts[stepadapter.MetricDelivered] != 3*runs ||
		counts[stepadapter.MetricRejected] != 0 || counts[stepadapter.MetricFiltered] != 0 {
		t.Errorf("counts %v; want %d dead-lettered and %d delivered of %d transitions", counts, 3*runs, 3*runs, 6*runs)
	}
}

// TestDeadLetterSinkDownThenRefusing: an event bound for the dead-letter
// sink waits while the dead-letter sink is down (the TaskRun's later
// events behind it, in order), is dead-lettered once it is back, and one
// the dead-letter sink refuses for good is rejected: counted, not lost
// silently.
func TestDeadLetterSinkDownThenRefusing(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink, dls := receiver.New(t), receiver.New(t)
	sink.Refuse(func(e cloudevents.Event) int {
		if e.Subject() == "bad" {
			return http.StatusUnprocessableEntity
		}
		return 0
	})
	dls.FailWith(http.StatusBadGateway)
	cfg := sourceConfig(ns)
	cfg.Delivery = &eventingduckv1.DeliverySpec{DeadLetterSink: deadLetterTo(t, dls)}
	reader := sdkmetric.NewManualReader()
	startAdapter(t, cfg, sink.URL, nil, func(o *stepadapter.Options) {
		o.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	})
	client := tektonclient.NewForConfigOrDie(cp.Config)
	ctx := context.Background()
	r := sim.MustCreate(t, client, ns, "order", nil, "bad", "good")
	if err := r.Complete(ctx, true, sim.Succeeded(), sim.Succeeded()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(eventTimeout)
	for dls.Rejected() < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := dls.Rejected(); n < 3 {
		t.Fatalf("the dead-letter sink saw %d attempts, want the first event retried there", n)
	}
	if n := len(sink.Events()); n != 0 {
		t.Fatalf("the sink got %d events while the first was still bound for the dead-letter sink", n)
	}
	// The dead-letter sink comes back, refusing the second "bad" event
	// for good.
	dls.Refuse(func(e cloudevents.Event) int {
		if kind(e.Type()) == "succeeded" {
			return http.StatusForbidden
		}
		return 0
	})
	dls.FailWith(0)
	evs, err := sink.WaitForCount(ctx, eventTimeout, 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"order/good/started", "order/good/succeeded"}, sequence(evs)); diff != "" {
		t.Errorf("the sink's events (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"order/bad/started"}, sequence(dls.Events())); diff != "" {
		t.Errorf("the dead-letter sink's events (-want +got):\n%s", diff)
	}
	counts := waitForCounts(t, reader, 4)
	if counts[stepadapter.MetricDeadLettered] != 1 || counts[stepadapter.MetricRejected] != 1 || counts[stepadapter.MetricDelivered] != 2 {
		t.Errorf("counts %v; want 1 dead-lettered, 1 rejected, 2 delivered", counts)
	}
}

// TestRetryAfterHonoured: with delivery.retryAfterMax, a 429's Retry-After
// holds the event's next attempt back at least that long, although the
// TaskRun keeps changing meanwhile (each change wakes its delivery).
func TestRetryAfterHonoured(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	var mu sync.Mutex
	seen := map[string]bool{}
	sink.Respond(func(e cloudevents.Event) receiver.Response {
		mu.Lock()
		defer mu.Unlock()
		if !seen[e.ID()] {
			seen[e.ID()] = true
			return receiver.Response{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"3"}}}
		}
		return receiver.Response{}
	})
	cfg := sourceConfig(ns)
	cfg.Delivery = &eventingduckv1.DeliverySpec{RetryAfterMax: ptr.String("PT10S")}
	startAdapter(t, cfg, sink.URL, nil)
	client := tektonclient.NewForConfigOrDie(cp.Config)
	ctx := context.Background()
	r := sim.MustCreate(t, client, ns, "throttled", nil, "a")
	r.MustSetSteps(t, sim.Running())
	time.Sleep(time.Second)
	if err := r.Complete(ctx, true, sim.Succeeded()); err != nil {
		t.Fatal(err)
	}
	if _, err := sink.WaitForCount(ctx, eventTimeout, 2); err != nil {
		t.Fatal(err)
	}
	first := map[string]time.Time{}
	for _, a := range sink.Attempts() {
		if a.Status == http.StatusTooManyRequests {
			first[a.ID] = a.At
			continue
		}
		if gap := a.At.Sub(first[a.ID]); first[a.ID].IsZero() || gap < 3*time.Second {
			t.Errorf("%s retried %s after its 429 with Retry-After: 3", a.ID, gap)
		}
	}
}

// TestSinkNeverAnswers: a sink that takes a request and never answers
// holds a delivery only for delivery.timeout; the attempt is retried, and
// the other TaskRuns' events flow meanwhile.
func TestSinkNeverAnswers(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	hang := make(chan struct{})
	sink.Respond(func(e cloudevents.Event) receiver.Response {
		select {
		case <-hang:
			return receiver.Response{}
		default:
		}
		return receiver.Response{Hang: e.Extensions()["tektontaskrun"] == "stuck"}
	})
	cfg := sourceConfig(ns)
	cfg.Delivery = &eventingduckv1.DeliverySpec{Timeout: ptr.String("PT0.5S")}
	startAdapter(t, cfg, sink.URL, nil)
	client := tektonclient.NewForConfigOrDie(cp.Config)
	ctx := context.Background()
	stuck := sim.MustCreate(t, client, ns, "stuck", nil, "a")
	if err := stuck.Complete(ctx, true, sim.Succeeded()); err != nil {
		t.Fatal(err)
	}
	const others = 6 // more than the adapter's 4 delivery workers
	for i := range others {
		r := sim.MustCreate(t, client, ns, fmt.Sprintf("free-%d", i), nil, "a")
		if err := r.Complete(ctx, true, sim.Succeeded()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sink.WaitForCount(ctx, eventTimeout, 2*others); err != nil {
		t.Fatalf("the other TaskRuns' events were held back: %v", err)
	}
	hung := func() int {
		n := 0
		for _, a := range sink.Attempts() {
			if a.Status == 0 {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(eventTimeout)
	for hung() < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if hung := hung(); hung < 2 {
		t.Errorf("the stuck TaskRun's first event was attempted %d times, want it retried after each timeout", hung)
	}
	close(hang)
	evs, err := sink.WaitForCount(ctx, eventTimeout, 2*others+2)
	if err != nil {
		t.Fatal(err)
	}
	var stuckEvents []cloudevents.Event
	for _, e := range evs {
		if e.Extensions()["tektontaskrun"] == "stuck" {
			stuckEvents = append(stuckEvents, e)
		}
	}
	if diff := cmp.Diff([]string{"stuck/a/started", "stuck/a/succeeded"}, sequence(stuckEvents)); diff != "" {
		t.Errorf("the stuck TaskRun's events once the sink answers (-want +got):\n%s", diff)
	}
}

// waitForCounts waits until the outcomes counted (delivered, filtered,
// dead-lettered, rejected) reach n, or eventTimeout, and returns the
// counters a moment later (so that an excess shows).
func waitForCounts(t *testing.T, reader *sdkmetric.ManualReader, n int64) map[string]int64 {
	t.Helper()
	outcomes := func(c map[string]int64) int64 {
		return c[stepadapter.MetricDelivered] + c[stepadapter.MetricFiltered] + c[stepadapter.MetricDeadLettered] + c[stepadapter.MetricRejected]
	}
	deadline := time.Now().Add(eventTimeout)
	for outcomes(counters(t, reader)) < n && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	return counters(t, reader)
}

// TestRetryLimitWaitsBetweenAttempts: with delivery.retry and no
// backoffDelay, the retries still wait the adapter's backoff (50 ms, then
// 100 ms here), even though the TaskRun changes meanwhile and wakes its
// delivery: exactly retry+1 attempts, spaced, then the dead-letter sink.
func TestRetryLimitWaitsBetweenAttempts(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink, dls := receiver.New(t), receiver.New(t)
	// Refused after parsing, so each attempt is recorded with its id.
	sink.Refuse(func(cloudevents.Event) int { return http.StatusServiceUnavailable })
	cfg := sourceConfig(ns)
	cfg.Delivery = &eventingduckv1.DeliverySpec{DeadLetterSink: deadLetterTo(t, dls), Retry: ptr.Int32(2)}
	startAdapter(t, cfg, sink.URL, nil)
	client := tektonclient.NewForConfigOrDie(cp.Config)
	ctx := context.Background()
	r := sim.MustCreate(t, client, ns, "limited", nil, "a", "b")
	r.MustSetSteps(t, sim.Running(), sim.Waiting())
	// Changes within the backoff: each one wakes the TaskRun's delivery.
	r.MustSetSteps(t, sim.Succeeded(), sim.Running())
	if err := r.Complete(ctx, true, sim.Succeeded(), sim.Succeeded()); err != nil {
		t.Fatal(err)
	}
	if _, err := dls.WaitForCount(ctx, eventTimeout, 4); err != nil {
		t.Fatal(err)
	}
	byID := map[string][]time.Time{}
	for _, a := range sink.Attempts() {
		byID[a.ID] = append(byID[a.ID], a.At)
	}
	if len(byID) != 4 {
		t.Errorf("%d events attempted at the sink, want 4", len(byID))
	}
	for id, at := range byID {
		if len(at) != 3 {
			t.Errorf("%s: %d attempts, want 3 (the first and delivery.retry=2 retries)", id, len(at))
			continue
		}
		// The test's adapter backs off 50 ms, then 100 ms.
		if gap := at[1].Sub(at[0]); gap < 50*time.Millisecond {
			t.Errorf("%s: first retry %s after the first attempt, want ≥ 50ms", id, gap)
		}
		if gap := at[2].Sub(at[1]); gap < 100*time.Millisecond {
			t.Errorf("%s: second retry %s after the first, want ≥ 100ms", id, gap)
		}
	}
	if diff := cmp.Diff([]string{"limited/a/started", "limited/a/succeeded", "limited/b/started", "limited/b/succeeded"}, sequence(dls.Events())); diff != "" {
		t.Errorf("dead-lettered events, in order (-want +got):\n%s", diff)
	}
}
