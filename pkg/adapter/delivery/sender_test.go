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

package delivery

import (
	"context"
	"fmt"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/tektonstep/tekton-step-source/test/receiver"
)

// TestSender: each attempt's Outcome, and the Fate it leaves for the next,
// against real HTTP sinks answering as the case says.
func TestSender(t *testing.T) {
	const base, ceiling = 100 * time.Millisecond, time.Second
	withDLS := &eventingduckv1.DeliverySpec{DeadLetterSink: &duckv1.Destination{URI: apis.HTTP("dls.example")}}
	one := int32(1)
	withDLSAndRetry := &eventingduckv1.DeliverySpec{DeadLetterSink: withDLS.DeadLetterSink, Retry: &one}
	// step is one call: to Send, or to Failed with local (built says
	// whether the event exists), and what it must come to.
	type step struct {
		sink, dls   int // the sinks' answers (0: accept)
		local       error
		built       bool
		want        Kind
		wantTarget  string
		wantFailure int // Fate.Failures after it
		wantDL      bool
		wantWhy     string
	}
	tests := []struct {
		name  string
		spec  *eventingduckv1.DeliverySpec
		steps []step
		// wantCode: the knativeerrorcode of what the dead-letter sink
		// got ("": any).
		wantCode string
	}{{
		name:  "accepted",
		steps: []step{{want: Delivered, wantTarget: TargetSink}},
	}, {
		name: "a 503 without delivery: retried with the sender's backoff until accepted",
		steps: []step{
			{sink: 503, want: Retry, wantTarget: TargetSink, wantFailure: 1},
			{sink: 503, want: Retry, wantTarget: TargetSink, wantFailure: 2},
			{want: Delivered, wantTarget: TargetSink, wantFailure: 2},
		},
	}, {
		name:  "a 400 without a dead-letter sink: rejected",
		steps: []step{{sink: 400, want: Rejected, wantTarget: TargetSink, wantFailure: 1, wantWhy: "an answer retrying cannot change"}},
	}, {
		name: "a 400 with a dead-letter sink: dead-lettered, after which the sink is not tried",
		spec: withDLS,
		steps: []step{
			{sink: 400, want: ToDeadLetter, wantTarget: TargetSink, wantDL: true},
			{sink: 400, want: DeadLettered, wantTarget: TargetDeadLetter, wantDL: true},
		},
	}, {
		name: "retried once, then to the dead-letter sink, which refuses it for good",
		spec: withDLSAndRetry,
		steps: []step{
			{sink: 500, want: Retry, wantTarget: TargetSink, wantFailure: 1},
			{sink: 500, want: ToDeadLetter, wantTarget: TargetSink, wantDL: true},
			{dls: 503, want: Retry, wantTarget: TargetDeadLetter, wantFailure: 1, wantDL: true},
			{dls: 400, want: Rejected, wantTarget: TargetDeadLetter, wantFailure: 2, wantDL: true, wantWhy: "an answer retrying cannot change"},
		},
	}, {
		name: "a 401 retried as a 5xx; a 403 dead-lettered; a 401 from the dead-letter sink retried",
		spec: withDLS,
		steps: []step{
			{sink: 401, want: Retry, wantTarget: TargetSink, wantFailure: 1},
			{sink: 403, want: ToDeadLetter, wantTarget: TargetSink, wantDL: true},
			{dls: 401, want: Retry, wantTarget: TargetDeadLetter, wantFailure: 1, wantDL: true},
			{want: DeadLettered, wantTarget: TargetDeadLetter, wantFailure: 1, wantDL: true},
		},
		wantCode: "403",
	}, {
		name:  "a local failure without a bounded retry: rejected at once",
		steps: []step{{local: errLocal, want: Rejected, wantTarget: TargetSink, wantFailure: 1, wantWhy: "a failure retrying cannot change"}},
	}, {
		name:  "a local failure of a built event with a dead-letter sink: dead-lettered",
		spec:  withDLS,
		steps: []step{{local: errLocal, built: true, want: ToDeadLetter, wantTarget: TargetSink, wantDL: true}, {want: DeadLettered, wantTarget: TargetDeadLetter, wantDL: true}},
	}, {
		name:  "a local failure of an event that could not be built: nothing to dead-letter",
		spec:  withDLS,
		steps: []step{{local: errLocal, want: Rejected, wantTarget: TargetSink, wantFailure: 1, wantWhy: "a failure retrying cannot change"}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink, dls := receiver.New(t), receiver.New(t)
			client := func(url string) cloudevents.Client {
				c, err := cloudevents.NewClientHTTP(cehttp.WithTarget(url), cehttp.WithRoundTripperDecorator(recordAnswers))
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			policy, err := NewPolicy(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			s := NewSender(client(sink.URL), client(dls.URL), policy, 5*time.Second, base, ceiling)
			event := testEvent()
			var fate Fate
			for i, st := range tc.steps {
				sink.FailWith(st.sink)
				dls.FailWith(st.dls)
				var out Outcome
				if st.local != nil {
					out = s.Failed(&fate, st.local, st.built)
				} else {
					out = s.Send(context.Background(), event, &fate)
				}
				if out.Kind != st.want || out.Target != st.wantTarget || out.Why != st.wantWhy {
					t.Fatalf("step %d: outcome %+v, want kind %v to the %s (why %q)", i, out, st.want, st.wantTarget, st.wantWhy)
				}
				if fate.Failures != st.wantFailure || fate.DeadLetter != st.wantDL {
					t.Errorf("step %d: fate %+v, want %d failures, dead-letter bound %v", i, fate, st.wantFailure, st.wantDL)
				}
				if out.Kind == Retry && (out.Wait <= 0 || out.Wait > ceiling || time.Until(fate.NotBefore) <= 0) {
					t.Errorf("step %d: retry after %v, not before %v: want a wait within the ceiling, kept in the fate", i, out.Wait, fate.NotBefore)
				}
				if out.Kind != Delivered && out.Kind != DeadLettered && out.Err == nil {
					t.Errorf("step %d: %v without an error", i, out.Kind)
				}
			}
			// What reached the dead-letter sink carries Knative's error
			// extensions with the sink's answer.
			for _, e := range dls.Events() {
				code, ok := e.Extensions()["knativeerrorcode"]
				if !ok || code == "" || (tc.wantCode != "" && fmt.Sprint(code) != tc.wantCode) {
					t.Errorf("dead-lettered event with knativeerrorcode %v, want %q: %v", code, tc.wantCode, e.Extensions())
				}
			}
		})
	}
}

// TestSenderBackoff: without spec.delivery's backoff the waits double from
// the base up to the ceiling.
func TestSenderBackoff(t *testing.T) {
	s := NewSender(nil, nil, Policy{}, time.Second, 100*time.Millisecond, time.Second)
	for failures, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 60: time.Second} {
		fate := Fate{Failures: failures}
		if got := s.backoff(verdict{}, &fate); got != want {
			t.Errorf("after %d failures: %v, want %v", failures, got, want)
		}
	}
	if got := s.backoff(verdict{wait: 3 * time.Second}, &Fate{Failures: 1}); got != 3*time.Second {
		t.Errorf("the policy's wait: %v, want 3s", got)
	}
}
