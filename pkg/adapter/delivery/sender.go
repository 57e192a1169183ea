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
	"errors"
	"fmt"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	ceevent "github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// Sender makes the attempts of an event: to the sink, and, once the sink
// gave up on it, to the dead-letter sink, under spec.delivery's policy.
// It neither logs nor counts: each attempt's Outcome says what became of
// the event, and its caller does the rest (as Kafka's dispatcher hands
// each outcome to one listener hook).
type Sender struct {
	sink, deadLetter cloudevents.Client
	policy           Policy
	// timeout bounds one attempt; base and ceiling bound the sender's own
	// exponential backoff where the policy sets none.
	timeout, base, ceiling time.Duration
}

// NewSender is a Sender to the sink's and the dead-letter sink's clients
// (deadLetter nil without one). timeout bounds one attempt; base and
// ceiling bound the backoff where spec.delivery sets none.
func NewSender(sink, deadLetter cloudevents.Client, policy Policy, timeout, base, ceiling time.Duration) *Sender {
	return &Sender{sink: sink, deadLetter: deadLetter, policy: policy, timeout: timeout, base: base, ceiling: ceiling}
}

// AttemptTimeout bounds one attempt.
func (s *Sender) AttemptTimeout() time.Duration { return s.timeout }

// Fate is where an event stands between its attempts; the caller keeps it
// (in streams.Attempt) from one attempt to the next, and Send and Failed
// update it.
type Fate struct {
	// Failures counts the failed attempts to the current target.
	Failures int
	// NotBefore is when the next attempt may start.
	NotBefore time.Time
	// DeadLetter: the sink gave up on the event (its last answer
	// SinkAnswer, SinkErr); it is bound for the dead-letter sink.
	DeadLetter bool
	SinkAnswer Answer
	SinkErr    error
}

// Kind is what became of an event after an attempt.
type Kind int

const (
	// Delivered: the sink accepted the event.
	Delivered Kind = iota
	// ToDeadLetter: the sink gave up on it; its next attempt, at once, is
	// to the dead-letter sink.
	ToDeadLetter
	// DeadLettered: the dead-letter sink accepted it.
	DeadLettered
	// Rejected: given up on (Outcome.Why says after what).
	Rejected
	// Retry: attempt again, not before Outcome.Wait.
	Retry
	// Unready: the event could not be made ready for its attempt (its
	// dead-letter form could not be built); no attempt was made or
	// counted, and it is tried again with the delivery queue's backoff.
	Unready
)

// Target names where an attempt went, for messages.
const (
	TargetSink       = "sink"
	TargetDeadLetter = "dead-letter sink"
)

// Outcome is what one attempt came to.
type Outcome struct {
	Kind Kind
	// Target is where the attempt went (TargetSink, TargetDeadLetter).
	Target string
	// Answer is what the target answered; Err, why the attempt failed.
	Answer Answer
	Err    error
	// Wait is how long a Retry waits; Why, after what a Rejected event
	// was given up on; Took, how long the attempt took; Attempts, how
	// many attempts to the target failed (for ToDeadLetter: the sink's).
	Wait     time.Duration
	Why      string
	Took     time.Duration
	Attempts int
}

// Send makes the event's next attempt, to the target fate says.
func (s *Sender) Send(ctx context.Context, event cloudevents.Event, fate *Fate) Outcome {
	if fate.DeadLetter {
		return s.sendDeadLetter(ctx, event, fate)
	}
	start := time.Now()
	ans, err := s.attempt(ctx, s.sink, event)
	took := time.Since(start)
	if err == nil {
		return Outcome{Kind: Delivered, Target: TargetSink, Answer: ans, Took: took}
	}
	fate.Failures++
	return s.afterSinkFailure(fate, ans, err, took, true)
}

// Failed decides the fate of an event that failed before it could be
// sent (cause): built says whether the event exists, without which it
// can only be retried or rejected (there is nothing to dead-letter).
func (s *Sender) Failed(fate *Fate, cause error, built bool) Outcome {
	fate.Failures++
	return s.afterSinkFailure(fate, Answer{Local: cause}, cause, 0, built)
}

// afterSinkFailure applies the policy to a failed attempt to the sink.
func (s *Sender) afterSinkFailure(fate *Fate, ans Answer, err error, took time.Duration, built bool) Outcome {
	out := Outcome{Target: TargetSink, Answer: ans, Err: err, Took: took, Attempts: fate.Failures}
	v := s.policy.afterFailure(fate.Failures, ans, time.Now())
	switch {
	case v.action == retryLater:
		out.Kind, out.Wait = Retry, s.backoff(v, fate)
	case v.action == toDeadLetter && built:
		out.Kind = ToDeadLetter
		*fate = Fate{DeadLetter: true, SinkAnswer: ans, SinkErr: err}
	default:
		out.Kind, out.Why = Rejected, s.rejectedAfter(ans, fate.Failures)
	}
	return out
}

// sendDeadLetter sends an event the sink gave up on to the dead-letter
// sink, with Knative's error extensions.
func (s *Sender) sendDeadLetter(ctx context.Context, event cloudevents.Event, fate *Fate) Outcome {
	out := Outcome{Target: TargetDeadLetter}
	dead, err := deadLettered(ctx, event, fate.SinkAnswer, fate.SinkErr)
	if err != nil {
		// Still bound for the dead-letter sink.
		out.Kind, out.Err = Unready, err
		return out
	}
	start := time.Now()
	out.Answer, out.Err = s.attempt(ctx, s.deadLetter, *dead)
	out.Took = time.Since(start)
	if out.Err == nil {
		out.Kind = DeadLettered
		return out
	}
	fate.Failures++
	out.Attempts = fate.Failures
	v := s.policy.afterDeadLetterFailure(fate.Failures, out.Answer, time.Now())
	if v.action == rejectEvent {
		out.Kind, out.Why = Rejected, s.rejectedAfter(out.Answer, 0)
		return out
	}
	out.Kind, out.Wait = Retry, s.backoff(v, fate)
	return out
}

// attempt sends the event once with the client, within the request
// timeout, and returns what it was answered.
func (s *Sender) attempt(ctx context.Context, client cloudevents.Client, event cloudevents.Event) (Answer, error) {
	var ans Answer
	sendCtx, cancel := context.WithTimeout(withAnswer(ctx, &ans), s.timeout)
	defer cancel()
	if s.policy.structured {
		sendCtx = cloudevents.WithEncodingStructured(sendCtx)
	}
	result := client.Send(sendCtx, event)
	if cloudevents.IsACK(result) {
		return ans, nil
	}
	var invalid ceevent.ValidationError
	if errors.As(result, &invalid) {
		// The client refused the event itself (after ceOverrides), before
		// any request.
		ans.Local = result
	}
	// A client built without NewClients records no answer; its result
	// still has the status.
	var httpResult *cehttp.Result
	if ans.Status == 0 && cloudevents.ResultAs(result, &httpResult) {
		ans.Status = httpResult.StatusCode
	}
	if result == nil {
		result = errors.New("no result")
	}
	return ans, result
}

// backoff is the wait before the next attempt, kept in fate as its
// not-before time (so that a TaskRun change that wakes the delivery earlier
// does not cut it short): the policy's, else the sender's own (base
// doubling per failed attempt up to ceiling).
func (s *Sender) backoff(v verdict, fate *Fate) time.Duration {
	wait := v.wait
	if wait <= 0 {
		wait = s.ceiling
		if shift := fate.Failures - 1; shift >= 0 && shift < 30 && s.base<<shift < wait {
			wait = s.base << shift
		}
	}
	fate.NotBefore = time.Now().Add(wait)
	return wait
}

// rejectedAfter says, for messages, after what an event is given up on:
// the failures-th attempt a bounded policy allowed (0: not the sink's),
// or an answer retrying cannot change.
func (s *Sender) rejectedAfter(ans Answer, failures int) string {
	if failures > 0 && s.policy.limited && (ans.Local != nil || retryable(ans)) {
		return fmt.Sprintf("the last of %d attempts (spec.delivery.retry)", failures)
	}
	if ans.Local != nil {
		return "a failure retrying cannot change"
	}
	return "an answer retrying cannot change"
}

// StatusText is an answer's status for messages.
func (a Answer) StatusText() string {
	if a.Status == 0 {
		return "nothing"
	}
	return fmt.Sprint(a.Status)
}

// DeadLetter reports whether spec.delivery names a dead-letter sink.
func (p Policy) DeadLetter() bool { return p.deadLetter }

// RequestTimeout is spec.delivery.timeout, 0 when unset.
func (p Policy) RequestTimeout() time.Duration { return p.retry.RequestTimeout }
