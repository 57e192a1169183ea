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
	"errors"
	"math"
	"net/http"
	"testing"
	"time"

	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/ptr"
)

// TestDeliveryPolicy: what becomes of an event after a failed attempt, for
// spec.delivery's combinations, as Knative's dispatcher decides it.
// errLocal is a failure before the network (Answer.Local).
var errLocal = errors.New("the header value cannot be sent over HTTP")

func TestDeliveryPolicy(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	dls := &duckv1.Destination{URI: apis.HTTP("dls.example")}
	exponential, linear := eventingduckv1.BackoffPolicyExponential, eventingduckv1.BackoffPolicyLinear
	retry := func(n int32) *int32 { return &n }
	cases := []struct {
		name     string
		spec     *eventingduckv1.DeliverySpec
		failures int
		answer   Answer
		want     verdict
	}{
		{"no delivery: 503 retried with the queue's backoff", nil, 1, Answer{Status: 503}, verdict{action: retryLater}},
		{"no delivery: no answer retried", nil, 1, Answer{}, verdict{action: retryLater}},
		{"no delivery: 404 retried", nil, 1, Answer{Status: 404}, verdict{action: retryLater}},
		{"no delivery: 409 retried", nil, 1, Answer{Status: 409}, verdict{action: retryLater}},
		{"no delivery: retried forever", nil, 100000, Answer{Status: 500}, verdict{action: retryLater}},
		{"no delivery: 400 rejected", nil, 1, Answer{Status: 400}, verdict{action: rejectEvent}},
		// A 401 says the adapter's OIDC identity is not accepted yet,
		// which its rollout fixes; a 403, that an EventPolicy refuses it.
		{"no delivery: 401 retried", nil, 1, Answer{Status: 401}, verdict{action: retryLater}},
		{"no delivery: 401 retried forever", nil, 100000, Answer{Status: 401}, verdict{action: retryLater}},
		{"no delivery: 403 rejected", nil, 1, Answer{Status: 403}, verdict{action: rejectEvent}},
		{"dead-letter sink only: 403 dead-lettered", &eventingduckv1.DeliverySpec{DeadLetterSink: dls},
			1, Answer{Status: 403}, verdict{action: toDeadLetter}},
		{"exponential PT1S: a 401's second retry waits 2s, as a 5xx's", &eventingduckv1.DeliverySpec{BackoffDelay: ptr.String("PT1S")},
			2, Answer{Status: 401}, verdict{action: retryLater, wait: 2 * time.Second}},
		{"retry 2: a 401 on the last retry, dead-lettered", &eventingduckv1.DeliverySpec{Retry: retry(2), DeadLetterSink: dls},
			3, Answer{Status: 401}, verdict{action: toDeadLetter}},
		{"no delivery: 302 rejected", nil, 1, Answer{Status: 302}, verdict{action: rejectEvent}},
		{"no delivery: Retry-After ignored", nil, 1, Answer{Status: 429, RetryAfter: "3"}, verdict{action: retryLater}},
		{"dead-letter sink only: retryable answers retried forever", &eventingduckv1.DeliverySpec{DeadLetterSink: dls},
			50, Answer{Status: 503}, verdict{action: retryLater}},
		{"dead-letter sink only: 400 dead-lettered", &eventingduckv1.DeliverySpec{DeadLetterSink: dls},
			1, Answer{Status: 400}, verdict{action: toDeadLetter}},
		{"retry 2: attempt 2 (the first retry) failed, retried", &eventingduckv1.DeliverySpec{Retry: retry(2), DeadLetterSink: dls},
			2, Answer{Status: 503}, verdict{action: retryLater}},
		{"retry 2: attempt 3 (the last retry) failed, dead-lettered", &eventingduckv1.DeliverySpec{Retry: retry(2), DeadLetterSink: dls},
			3, Answer{Status: 503}, verdict{action: toDeadLetter}},
		{"retry 0: the first failure dead-lettered", &eventingduckv1.DeliverySpec{Retry: retry(0), DeadLetterSink: dls},
			1, Answer{}, verdict{action: toDeadLetter}},
		{"retry 2 without dead-letter sink: rejected after the last", &eventingduckv1.DeliverySpec{Retry: retry(2)},
			3, Answer{Status: 500}, verdict{action: rejectEvent}},
		{"exponential PT1S: first retry waits 1s", &eventingduckv1.DeliverySpec{BackoffPolicy: &exponential, BackoffDelay: ptr.String("PT1S")},
			1, Answer{Status: 500}, verdict{action: retryLater, wait: time.Second}},
		{"exponential PT1S: third retry waits 4s", &eventingduckv1.DeliverySpec{BackoffPolicy: &exponential, BackoffDelay: ptr.String("PT1S")},
			3, Answer{Status: 500}, verdict{action: retryLater, wait: 4 * time.Second}},
		{"retried until accepted: the backoff stops growing at a minute", &eventingduckv1.DeliverySpec{BackoffDelay: ptr.String("PT1S")},
			30, Answer{Status: 500}, verdict{action: retryLater, wait: time.Minute}},
		{"retry 100: no overflow however far the backoff goes", &eventingduckv1.DeliverySpec{Retry: retry(100), BackoffDelay: ptr.String("PT1S")},
			90, Answer{Status: 500}, verdict{action: retryLater, wait: 24 * time.Hour}},
		{"retried until accepted: Retry-After may ask for longer than the ceiling", &eventingduckv1.DeliverySpec{RetryAfterMax: ptr.String("PT5M")},
			1, Answer{Status: 503, RetryAfter: "120"}, verdict{action: retryLater, wait: 2 * time.Minute}},
		{"backoffDelay alone is exponential", &eventingduckv1.DeliverySpec{BackoffDelay: ptr.String("PT0.5S")},
			2, Answer{Status: 500}, verdict{action: retryLater, wait: time.Second}},
		{"linear PT1S: first retry at once (Knative's delay*index)", &eventingduckv1.DeliverySpec{BackoffPolicy: &linear, BackoffDelay: ptr.String("PT1S")},
			1, Answer{Status: 500}, verdict{action: retryLater}},
		{"linear PT1S: third retry waits 2s", &eventingduckv1.DeliverySpec{BackoffPolicy: &linear, BackoffDelay: ptr.String("PT1S")},
			3, Answer{Status: 500}, verdict{action: retryLater, wait: 2 * time.Second}},
		{"retryAfterMax: 429 Retry-After 3 honoured", &eventingduckv1.DeliverySpec{RetryAfterMax: ptr.String("PT10S")},
			1, Answer{Status: 429, RetryAfter: "3"}, verdict{action: retryLater, wait: 3 * time.Second}},
		{"retryAfterMax: 503 Retry-After capped", &eventingduckv1.DeliverySpec{RetryAfterMax: ptr.String("PT5S")},
			1, Answer{Status: 503, RetryAfter: "30"}, verdict{action: retryLater, wait: 5 * time.Second}},
		{"retryAfterMax: HTTP-date honoured", &eventingduckv1.DeliverySpec{RetryAfterMax: ptr.String("PT1M")},
			1, Answer{Status: 429, RetryAfter: now.Add(20 * time.Second).Format(http.TimeFormat)}, verdict{action: retryLater, wait: 20 * time.Second}},
		{"retryAfterMax: Retry-After of a 500 ignored", &eventingduckv1.DeliverySpec{RetryAfterMax: ptr.String("PT10S")},
			1, Answer{Status: 500, RetryAfter: "3"}, verdict{action: retryLater}},
		{"retryAfterMax PT0S: Retry-After ignored", &eventingduckv1.DeliverySpec{RetryAfterMax: ptr.String("PT0S")},
			1, Answer{Status: 429, RetryAfter: "3"}, verdict{action: retryLater}},
		{"the longer of backoff and Retry-After", &eventingduckv1.DeliverySpec{BackoffDelay: ptr.String("PT4S"), RetryAfterMax: ptr.String("PT10S")},
			1, Answer{Status: 429, RetryAfter: "3"}, verdict{action: retryLater, wait: 4 * time.Second}},
		// An event that never left the process fails the same way each
		// time: retried only within a bounded retry, never forever.
		{"local failure, no delivery: rejected at once", nil, 1, Answer{Local: errLocal}, verdict{action: rejectEvent}},
		{"local failure, dead-letter sink only: dead-lettered at once", &eventingduckv1.DeliverySpec{DeadLetterSink: dls},
			1, Answer{Local: errLocal}, verdict{action: toDeadLetter}},
		{"local failure, retry 2: retried", &eventingduckv1.DeliverySpec{Retry: retry(2), DeadLetterSink: dls, BackoffDelay: ptr.String("PT1S")},
			2, Answer{Local: errLocal}, verdict{action: retryLater, wait: 2 * time.Second}},
		{"local failure, retry 2: dead-lettered after the last", &eventingduckv1.DeliverySpec{Retry: retry(2), DeadLetterSink: dls},
			3, Answer{Local: errLocal}, verdict{action: toDeadLetter}},
		{"local failure, retry 1 without dead-letter sink: rejected after the last", &eventingduckv1.DeliverySpec{Retry: retry(1)},
			2, Answer{Local: errLocal}, verdict{action: rejectEvent}},
		{"Retry-After on the last attempt: still dead-lettered", &eventingduckv1.DeliverySpec{Retry: retry(1), DeadLetterSink: dls, RetryAfterMax: ptr.String("PT10S")},
			2, Answer{Status: 429, RetryAfter: "3"}, verdict{action: toDeadLetter}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPolicy(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.afterFailure(tc.failures, tc.answer, now); got != tc.want {
				t.Errorf("afterFailure(%d, %+v) = %+v, want %+v", tc.failures, tc.answer, got, tc.want)
			}
		})
	}
}

// TestDeadLetterPolicy: an event bound for the dead-letter sink is retried
// there until it is accepted, whatever spec.delivery.retry says, unless
// the dead-letter sink refuses it for good.
func TestDeadLetterPolicy(t *testing.T) {
	now := time.Now()
	p, err := NewPolicy(&eventingduckv1.DeliverySpec{Retry: ptr.Int32(1), DeadLetterSink: &duckv1.Destination{URI: apis.HTTP("dls")},
		BackoffDelay: ptr.String("PT1S")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		failures int
		answer   Answer
		want     verdict
	}{
		{1, Answer{Status: 503}, verdict{action: retryLater, wait: time.Second}},
		{5, Answer{}, verdict{action: retryLater, wait: 16 * time.Second}},
		{10, Answer{}, verdict{action: retryLater, wait: maxUnlimitedBackoff}},
		{1, Answer{Status: 400}, verdict{action: rejectEvent}},
		{3, Answer{Status: 403}, verdict{action: rejectEvent}},
		// The dead-letter sink, too, may not accept the adapter's OIDC
		// identity yet.
		{2, Answer{Status: 401}, verdict{action: retryLater, wait: 2 * time.Second}},
		// The dead-letter client applies the same ceOverrides: an event
		// that cannot be carried to the sink cannot be carried there.
		{1, Answer{Local: errLocal}, verdict{action: rejectEvent}},
	} {
		if got := p.afterDeadLetterFailure(tc.failures, tc.answer, now); got != tc.want {
			t.Errorf("afterDeadLetterFailure(%d, %+v) = %+v, want %+v", tc.failures, tc.answer, got, tc.want)
		}
	}
}

func TestDeliveryPolicyFormat(t *testing.T) {
	for _, tc := range []struct {
		format *eventingduckv1.FormatType
		want   bool
	}{
		{nil, false},
		{ptrTo(eventingduckv1.DeliveryFormatBinary), false},
		{ptrTo(eventingduckv1.DeliveryFormatJson), true},
	} {
		p, err := NewPolicy(&eventingduckv1.DeliverySpec{Format: tc.format})
		if err != nil {
			t.Fatal(err)
		}
		if p.structured != tc.want {
			t.Errorf("format %v: structured = %v, want %v", tc.format, p.structured, tc.want)
		}
	}
}

func TestDeliveryPolicyInvalid(t *testing.T) {
	if _, err := NewPolicy(&eventingduckv1.DeliverySpec{Timeout: ptr.String("soon")}); err == nil {
		t.Error("an unparsable timeout was accepted")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{"99999999999999999", math.MaxInt64},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	} {
		if got := retryAfter(tc.header, now); got != tc.want {
			t.Errorf("retryAfter(%q) = %s, want %s", tc.header, got, tc.want)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }
