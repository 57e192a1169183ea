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
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	"knative.dev/eventing/pkg/kncloudevents"
)

// This file is spec.delivery's retry policy: what becomes of an event after
// a failed attempt. It decides as Knative's dispatcher does
// (kncloudevents), from the same parsed configuration, but by waiting in
// the delivery queue instead of in a blocked worker, and, without a retry
// limit, until the sink accepts.

// Policy is spec.delivery, parsed.
type Policy struct {
	// limited: retry bounds the retries after the first attempt; without
	// it an event the sink may still accept is retried until it does.
	limited bool
	// retry is kncloudevents' parse of spec.delivery: RetryMax, Backoff,
	// RequestTimeout, RetryAfterMaxDuration.
	retry kncloudevents.RetryConfig
	// backoff: retry.Backoff holds spec.delivery's backoff; without it the
	// delivery queue's own exponential backoff applies.
	backoff bool
	// deadLetter: a dead-letter sink is configured.
	deadLetter bool
	// structured: format json, events are sent in structured mode (else
	// binary, the CloudEvents SDK's default).
	structured bool
}

// NewPolicy parses spec.delivery (nil: retry until accepted, the
// queue's backoff, no dead-letter sink). A backoffDelay without a
// backoffPolicy is exponential, the policy Knative documents as default.
func NewPolicy(spec *eventingduckv1.DeliverySpec) (Policy, error) {
	if spec == nil {
		return Policy{}, nil
	}
	s := *spec
	if s.BackoffDelay != nil && s.BackoffPolicy == nil {
		exponential := eventingduckv1.BackoffPolicyExponential
		s.BackoffPolicy = &exponential
	}
	retry, err := kncloudevents.RetryConfigFromDeliverySpec(s)
	if err != nil {
		return Policy{}, err
	}
	return Policy{
		limited:    s.Retry != nil,
		retry:      retry,
		backoff:    s.BackoffDelay != nil,
		deadLetter: s.DeadLetterSink != nil,
		structured: s.Format != nil && *s.Format == eventingduckv1.DeliveryFormatJson,
	}, nil
}

// Answer is the outcome of one attempt: the URL it went to, the HTTP
// status (0: none, the request failed or timed out), the Retry-After
// header and the start of the body the sink answered.
type Answer struct {
	Dest       url.URL
	Status     int
	RetryAfter string
	Body       []byte
	// Local is why the event never left the process (it could not be
	// built, filtered or carried by the HTTP binding, or the TLS
	// certificate of the destination did not verify); nil when it did.
	Local error
}

// action is what becomes of an event after a failed attempt.
type action int

const (
	// retryLater: attempt again, not before the verdict's wait.
	retryLater action = iota
	// toDeadLetter: send it to the dead-letter sink.
	toDeadLetter
	// rejectEvent: give up on it (logged, counted, shown on the source).
	rejectEvent
)

// verdict is the policy's decision after a failed attempt. wait is 0 when
// the delivery queue's own backoff applies.
type verdict struct {
	action action
	wait   time.Duration
}

// retryable reports whether the answer may change on retry: Knative's
// SelectiveRetry (no answer, 404, 408, 409, 429, 5xx), and 401. With
// Knative's OIDC on, a 401 says the adapter's identity is not (yet)
// accepted: the sink (a Broker) began requiring tokens before the
// controller rolled the adapter out with its OIDC service account, a
// token is being refreshed, the issuer's keys are rotating. The rollout
// fixes it; the event is not at fault, and giving up on it would lose
// the events sent during every switch of authentication-oidc. A 403 (an
// EventPolicy refusing the source) stays a refusal.
func retryable(a Answer) bool {
	switch a.Status {
	case 0:
		ok, _ := kncloudevents.SelectiveRetry(context.Background(), nil, nil)
		return ok
	case http.StatusUnauthorized:
		return true
	}
	ok, _ := kncloudevents.SelectiveRetry(context.Background(), &http.Response{StatusCode: a.Status}, nil)
	return ok
}

// afterFailure decides what becomes of an event whose attempt number
// `failures` (1 for the first attempt) failed with the answer a.
func (p Policy) afterFailure(failures int, a Answer, now time.Time) verdict {
	giveUp := rejectEvent
	if p.deadLetter {
		giveUp = toDeadLetter
	}
	if a.Local != nil && !p.limited {
		// It fails the same way every time: retried until it succeeds,
		// it would hold the TaskRun's later events forever.
		return verdict{action: giveUp}
	}
	if (a.Local == nil && !retryable(a)) || (p.limited && failures > p.retry.RetryMax) {
		return verdict{action: giveUp}
	}
	ceiling := maxLimitedBackoff
	if !p.limited {
		ceiling = maxUnlimitedBackoff
	}
	return verdict{action: retryLater, wait: p.wait(failures, a, now, ceiling)}
}

// The longest backoff between two attempts. Knative's backoff grows
// without bound (delay·2ⁿ), which its bounded retries keep in check; an
// event retried until it is accepted (no delivery.retry, or bound for the
// dead-letter sink) waits at most maxUnlimitedBackoff, so it goes out
// soon after the sink recovers, however long it was down; with
// delivery.retry the ceiling only keeps the arithmetic from overflowing.
// Retry-After (up to retryAfterMax) may ask for longer.
const (
	maxUnlimitedBackoff = time.Minute
	maxLimitedBackoff   = 24 * time.Hour
)

// afterDeadLetterFailure decides what becomes of an event whose attempt to
// reach the dead-letter sink failed: it is retried until the dead-letter
// sink accepts it (an event is done only once it is somewhere), unless
// the dead-letter sink refuses it with an answer retrying cannot change,
// or it cannot be carried there (the dead-letter client applies the same
// ceOverrides, and the dead-letter sink's TLS certificate may not verify).
func (p Policy) afterDeadLetterFailure(failures int, a Answer, now time.Time) verdict {
	if a.Local != nil || !retryable(a) {
		return verdict{action: rejectEvent}
	}
	return verdict{action: retryLater, wait: p.wait(failures, a, now, maxUnlimitedBackoff)}
}

// wait is how long the retry after attempt number `failures` waits, as
// kncloudevents computes it: the larger of the backoff (the policy's, for
// Knative's attempt index failures-1, at most ceiling) and the answer's
// Retry-After on a 429 or 503, capped at retryAfterMax (ignored without
// it, as in Knative). 0: the delivery queue's own backoff applies.
func (p Policy) wait(failures int, a Answer, now time.Time, ceiling time.Duration) time.Duration {
	var d time.Duration
	if p.backoff {
		// 2⁴⁰ times any delay is past every ceiling; beyond, Knative's
		// float arithmetic overflows.
		d = p.retry.Backoff(min(failures-1, 40), nil)
		if d < 0 || d > ceiling {
			d = ceiling
		}
	}
	if max := p.retry.RetryAfterMaxDuration; max != nil &&
		(a.Status == http.StatusTooManyRequests || a.Status == http.StatusServiceUnavailable) {
		after := retryAfter(a.RetryAfter, now)
		if after > *max {
			after = *max
		}
		if after > d {
			d = after
		}
	}
	return d
}

// retryAfter is the wait a Retry-After header asks for (RFC 9110 10.2.3:
// delay-seconds or an HTTP-date); 0 when absent, invalid or past.
func retryAfter(header string, now time.Time) time.Duration {
	if header == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(header, 10, 64); err == nil {
		switch {
		case secs < 0:
			return 0
		case secs > int64(math.MaxInt64/time.Second):
			return math.MaxInt64
		}
		return time.Duration(secs) * time.Second
	}
	at, err := http.ParseTime(header)
	if err != nil || !at.After(now) {
		return 0
	}
	return at.Sub(now)
}
