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

package adapter

import (
	"context"
	"errors"
	"fmt"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	ceevent "github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"knative.dev/eventing/pkg/eventfilter"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/steplog"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
)

// This file is the delivery path: a queued TaskRun's pending transitions,
// each turned into an event, filtered and sent, in order.

// sync delivers the pending transitions of the TaskRuns of the name, in
// order: those of deleted TaskRuns of the name first (oldest first), then
// the live one's, whose progress is then recorded. It stops at the first
// failed delivery, so order is kept and the rest waits for the retry.
func (a *Adapter) sync(ctx context.Context, key types.NamespacedName) error {
	if !a.owns(key) {
		// Another replica leads the TaskRun's bucket.
		return nil
	}
	if a.successorUnseen(key) {
		return &retryAfterError{wait: handlerLag}
	}
	for _, gone := range a.deleted.of(key) {
		if complete, err := a.deliverPending(ctx, gone); !complete {
			return err
		}
		// Delivered: nothing is left to record, and the journal entry goes.
		a.deleted.done(key, gone.UID)
		a.retries.release(gone.UID)
		if a.ledger.forget(gone.UID) {
			a.kickJournal()
		}
	}
	lister := a.watches.lister(key.Namespace)
	if lister == nil {
		return nil
	}
	tr, err := lister.Get(key.Name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if a.handled.behind(key, tr.UID) {
		// Replaced while the deleted ones were delivered.
		return &retryAfterError{wait: handlerLag}
	}
	complete, err := a.deliverPending(ctx, tr)
	if complete {
		// Done without a send of its own (a checkpoint covered the rest).
		a.retries.release(tr.UID)
	}
	a.recordProgress(tr, complete)
	if !complete || err != nil {
		return err
	}
	// Replays of the TaskRun go after its live events.
	return a.replayTaskRun(ctx, key, tr.UID)
}

// successorUnseen reports whether the cache holds a TaskRun of the name the
// watch's handlers have not seen yet, after another they saw: they may be
// about to keep that one as deleted, and its events go first. Checked
// before the deleted TaskRuns are read, as the handlers keep a deleted
// one before they forget it.
func (a *Adapter) successorUnseen(key types.NamespacedName) bool {
	lister := a.watches.lister(key.Namespace)
	if lister == nil {
		return false
	}
	tr, err := lister.Get(key.Name)
	return err == nil && a.handled.behind(key, tr.UID)
}

// deliverPending delivers the TaskRun's transitions not yet done, in order,
// and stops at the first that fails (its error) or once another replica
// leads the TaskRun's bucket. complete: every transition is done.
func (a *Adapter) deliverPending(ctx context.Context, tr *pipelinev1.TaskRun) (complete bool, err error) {
	progress := a.progress(tr)
	for _, t := range transitions.AfterReported(transitions.ForTaskRun(tr, a.cfg.NotBefore.Time), progress.Done) {
		if progress.Done(t) {
			continue
		}
		if owned, err := a.deliverOwned(ctx, tr, t, progress); !owned || err != nil {
			return false, err
		}
	}
	return true, nil
}

// deliverOwned delivers the transition and records it in progress, unless
// another replica leads the TaskRun's bucket by now (owned false). The
// delivery counts as under way until it returns, even by a panic.
func (a *Adapter) deliverOwned(ctx context.Context, tr *pipelinev1.TaskRun, t transitions.Transition, progress *checkpoint.Progress) (owned bool, err error) {
	key := types.NamespacedName{Namespace: tr.Namespace, Name: tr.Name}
	a.sending.begin(key)
	defer a.sending.end(key)
	if !a.owns(key) {
		// Demoted meanwhile: the next leader takes over from the
		// checkpoint the demotion wrote.
		return false, nil
	}
	if err := a.deliver(ctx, tr, t, ""); err != nil {
		return true, err
	}
	progress.Record(t)
	a.ledger.delivered(tr.UID, key, progress, time.Now())
	return true, nil
}

// progress is where the TaskRun's delivery resumes: the further of its
// checkpoint annotation and this process's memory.
func (a *Adapter) progress(tr *pipelinev1.TaskRun) *checkpoint.Progress {
	p, err := a.checkpointOf(tr)
	if err != nil && a.ignored.first(tr.UID, ignoredAnnotation) {
		a.logger.Warnw("Ignoring the TaskRun's checkpoint", zap.String("taskRun", tr.Namespace+"/"+tr.Name), zap.Error(err))
	}
	resumed, witnessed := a.ledger.progress(tr.UID, p)
	if witnessed {
		// Delivered by this process, so true even where the status now
		// shows less: Tekton re-creates a pod that vanished before it saw
		// it fail, and its steps run again under the same ids.
		return resumed
	}
	if why := resumed.Beyond(tr); why != "" {
		// From the journal, which anyone who may patch its ConfigMap can
		// write: a record of more than happened would silence the run.
		if a.ignored.first(tr.UID, ignoredJournalEntry) {
			a.logger.Warnw("Ignoring the TaskRun's progress journal entry", zap.String("taskRun", tr.Namespace+"/"+tr.Name),
				zap.String("configMap", a.journal.Name()), zap.String("reason", why))
		}
		return p
	}
	return resumed
}

// deliver builds the transition's event and sends it unless the filters drop
// it. A nil error means the transition is done: acknowledged, filtered
// out, dead-lettered or rejected (logged, counted and shown on the
// source). Otherwise it is retried, with the same id and log; a
// *retryAfterError says how long to wait first.
//
// replay is the name of the replay that re-sends the transition (its
// event carries it in the replay extension), "" for a live one. A
// replay's retries are kept apart from the live events': each stream
// retries its own next event.
func (a *Adapter) deliver(ctx context.Context, tr *pipelinev1.TaskRun, t transitions.Transition, replay string) error {
	id := t.ID(tr.UID)
	runs := a.retries
	if replay != "" {
		runs = a.replayRetries
	}
	st, retrying := runs.get(tr.UID, id)
	if now := time.Now(); retrying && now.Before(st.notBefore) {
		// Woken early (the TaskRun changed): the wait still holds.
		return &retryAfterError{wait: st.notBefore.Sub(now)}
	}
	if !retrying {
		st = retryState{id: id, runs: runs}
	}
	// Lazy: most deliveries log nothing above debug, and encoding the
	// fields for each one was 2% of the adapter's CPU.
	fields := []interface{}{zap.String("id", id), zap.String("type", t.Kind.EventType()),
		zap.String("taskrun", tr.Namespace+"/"+tr.Name)}
	if replay != "" {
		fields = append(fields, zap.String("replay", replay))
	}
	logger := a.logger.WithLazy(fields...)
	if st.masker == nil {
		masker, withheld := a.masker(ctx, tr, t)
		if a.cfg.MaskGrantsByName {
			if wait, ok := a.grantWaits.await(withheld, tr.Namespace+"/"+t.PodName, time.Now()); ok {
				return &retryAfterError{wait: wait}
			}
		}
		st.masker, st.withheld = masker, withheld
		if st.withheld != nil {
			logger.Warnw("The step's log and results are withheld: a Secret it references cannot be masked", zap.Error(st.withheld))
		}
	}
	if st.log == nil {
		// The first attempt, or a retry whose log was not held (see
		// maxHeldBytes): read it.
		switch {
		case !a.carriesLog(t):
		case st.withheld != nil:
			st.log = &steplog.Log{Err: fmt.Errorf("log and results withheld: %w", st.withheld)}
		default:
			st.log = a.stepLog(ctx, tr, t)
		}
	}
	if st.withheld != nil {
		t = withoutResults(t)
	}
	event, err := guarded(func() (cloudevents.Event, error) { return build(tr, t, st, replay) })
	if err != nil {
		return a.failedLocally(ctx, logger, tr, t, nil, st, err)
	}
	if st.deadLetter {
		// It passed the filters on its way there.
		return a.sendDeadLetter(ctx, logger, tr, event, st)
	}
	drop, err := guarded(func() (bool, error) {
		return a.filter != nil && a.filter.Filter(ctx, event) == eventfilter.FailFilter, nil
	})
	if err != nil {
		return a.failedLocally(ctx, logger, tr, t, &event, st, fmt.Errorf("applying spec.filters: %w", err))
	}
	if drop {
		logger.Debug("Event dropped by the source's filters")
		a.stats.filtered.Add(ctx, 1, a.stats.attrs)
		st.runs.release(tr.UID)
		return nil
	}
	start := time.Now()
	ans, sendErr := a.attempt(ctx, a.opts.CloudEvents, event)
	if sendErr == nil {
		logger.Debug("Event delivered")
		a.stats.sent(ctx, event.Type(), time.Since(start), a.stats.delivered)
		st.runs.release(tr.UID)
		return nil
	}
	st.failures++
	v := a.policy.afterFailure(st.failures, ans, time.Now())
	switch v.action {
	case toDeadLetter:
		logger.Warnw("The sink did not accept the event; sending it to the dead-letter sink",
			zap.Int("status", ans.status), zap.Int("attempts", st.failures), zap.Error(sendErr))
		a.stats.sent(ctx, event.Type(), time.Since(start), a.stats.failed)
		st.deadLetter, st.sinkAnswer, st.sinkErr, st.failures, st.notBefore = true, ans, sendErr, 0, time.Time{}
		return a.sendDeadLetter(ctx, logger, tr, event, st)
	case rejectEvent:
		a.reject(ctx, logger, tr, event.ID(), event.Type(), st.runs, "sink", ans, a.rejectedAfter(ans, st.failures), time.Since(start))
		return nil
	}
	a.stats.sent(ctx, event.Type(), time.Since(start), a.stats.failed)
	return a.retryLater(tr, st, v, fmt.Errorf("sending %s: %w", event.ID(), sendErr))
}

// sendDeadLetter sends an event the sink did not take to the dead-letter
// sink, with Knative's error extensions. A nil error means it is done:
// dead-lettered, or rejected by the dead-letter sink too.
func (a *Adapter) sendDeadLetter(ctx context.Context, logger *zap.SugaredLogger, tr *pipelinev1.TaskRun, event cloudevents.Event, st retryState) error {
	dead, err := deadLettered(ctx, event, st.sinkAnswer, st.sinkErr)
	if err != nil {
		// Still bound for the dead-letter sink.
		st.runs.hold(tr, st)
		return err
	}
	start := time.Now()
	ans, sendErr := a.attempt(ctx, a.opts.DeadLetter, *dead)
	if sendErr == nil {
		logger.Warnw("Event dead-lettered", zap.Int("sinkStatus", st.sinkAnswer.status))
		a.stats.sent(ctx, event.Type(), time.Since(start), a.stats.deadLettered)
		st.runs.release(tr.UID)
		return nil
	}
	st.failures++
	v := a.policy.afterDeadLetterFailure(st.failures, ans, time.Now())
	if v.action == rejectEvent {
		a.reject(ctx, logger, tr, event.ID(), event.Type(), st.runs, "dead-letter sink", ans, a.rejectedAfter(ans, 0), time.Since(start))
		return nil
	}
	a.stats.sent(ctx, event.Type(), time.Since(start), a.stats.failed)
	return a.retryLater(tr, st, v, fmt.Errorf("sending %s to the dead-letter sink: %w", event.ID(), sendErr))
}

// attempt sends the event once with the client, within the request
// timeout, and returns what it was answered.
func (a *Adapter) attempt(ctx context.Context, client cloudevents.Client, event cloudevents.Event) (answer, error) {
	var ans answer
	sendCtx, cancel := context.WithTimeout(withAnswer(ctx, &ans), a.requestTimeout)
	defer cancel()
	if a.policy.structured {
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
		ans.local = result
	}
	// A client built without NewClients records no answer; its result
	// still has the status.
	var httpResult *cehttp.Result
	if ans.status == 0 && cloudevents.ResultAs(result, &httpResult) {
		ans.status = httpResult.StatusCode
	}
	if result == nil {
		result = errors.New("no result")
	}
	return ans, result
}

// retryLater keeps the event's retry state and returns err with the wait
// before its next attempt: the policy's, else the adapter's own backoff
// (RetryBaseDelay doubling per failed attempt up to RetryMaxDelay). The
// wait is kept as the event's not-before time, so that a TaskRun change
// that wakes the delivery earlier does not cut it short.
func (a *Adapter) retryLater(tr *pipelinev1.TaskRun, st retryState, v verdict, err error) error {
	wait := v.wait
	if wait <= 0 {
		wait = a.opts.RetryMaxDelay
		if shift := st.failures - 1; shift < 30 && a.opts.RetryBaseDelay<<shift < wait {
			wait = a.opts.RetryBaseDelay << shift
		}
	}
	st.notBefore = time.Now().Add(wait)
	st.runs.hold(tr, st)
	return &retryAfterError{err: err, wait: wait}
}

// reject gives up on an event: logged with its id, counted and shown on
// the source as a Warning Event; its retry state goes from runs.
func (a *Adapter) reject(ctx context.Context, logger *zap.SugaredLogger, tr *pipelinev1.TaskRun, id, eventType string,
	runs *retries, target string, ans answer, why string, took time.Duration) {
	if ans.local != nil {
		logger.Errorw("Event rejected: it could not be sent, after "+why+"; not retried", zap.Error(ans.local))
		a.sourceEvents.rejected(id, fmt.Sprintf("Event %s (%s of TaskRun %s/%s) could not be sent to the %s (%v), after %s; not retried",
			id, eventType, tr.Namespace, tr.Name, target, ans.local, why))
	} else {
		logger.Errorw("Event rejected: the "+target+" did not accept it, after "+why+"; not retried", zap.Int("status", ans.status))
		a.sourceEvents.rejected(id, fmt.Sprintf("The %s answered %s to event %s (%s of TaskRun %s/%s), after %s; not retried",
			target, statusText(ans), id, eventType, tr.Namespace, tr.Name, why))
	}
	a.stats.sent(ctx, eventType, took, a.stats.rejected)
	runs.release(tr.UID)
}

// rejectedAfter says, for messages, after what an event is given up on:
// the failures-th attempt a bounded policy allowed (0: not the sink's),
// or an answer retrying cannot change.
func (a *Adapter) rejectedAfter(ans answer, failures int) string {
	if failures > 0 && a.policy.limited && (ans.local != nil || retryable(ans)) {
		return fmt.Sprintf("the last of %d attempts (spec.delivery.retry)", failures)
	}
	if ans.local != nil {
		return "a failure retrying cannot change"
	}
	return "an answer retrying cannot change"
}

// statusText is an answer's status for messages.
func statusText(a answer) string {
	if a.status == 0 {
		return "nothing"
	}
	return fmt.Sprint(a.status)
}

// retryAfterError is a failed (err) or deferred (nil err) delivery whose
// next attempt must wait at least wait.
type retryAfterError struct {
	err  error
	wait time.Duration
}

func (e *retryAfterError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("next attempt in %s", e.wait)
	}
	return fmt.Sprintf("%v (next attempt in %s)", e.err, e.wait)
}

func (e *retryAfterError) Unwrap() error { return e.err }

// carriesLog reports whether the transition's event carries the step's
// log: a terminal step that ran in a pod, when logs are on.
func (a *Adapter) carriesLog(t transitions.Transition) bool {
	return (t.Kind == transitions.Succeeded || t.Kind == transitions.Failed) && a.cfg.LogMaxBytes > 0 && t.PodName != ""
}

// stepLog is the tail of a terminal transition's step container log (see
// carriesLog), read within SendTimeout. It is read once per transition:
// its retries carry the same (see retries).
func (a *Adapter) stepLog(ctx context.Context, tr *pipelinev1.TaskRun, t transitions.Transition) *steplog.Log {
	readCtx, cancel := context.WithTimeout(ctx, a.opts.SendTimeout)
	defer cancel()
	return a.logs.Tail(readCtx, tr.Namespace, t.PodName, t.StepState.Container, a.cfg.LogMaxBytes)
}
