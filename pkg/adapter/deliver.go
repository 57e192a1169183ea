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
	"fmt"
	"net/http"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"knative.dev/eventing/pkg/eventfilter"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/events"
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
	for _, gone := range a.deleted.of(key) {
		if complete, err := a.deliverPending(ctx, gone); !complete {
			return err
		}
		// Delivered: nothing is left to record, and the journal entry goes.
		a.deleted.done(key, gone.UID)
		a.retryLogs.release(gone.UID)
		if a.ledger.forget(gone.UID) {
			a.kickJournal()
		}
	}
	lister := a.listers(key.Namespace)
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
	complete, err := a.deliverPending(ctx, tr)
	if complete {
		// Done without a send of its own (a checkpoint covered the rest).
		a.retryLogs.release(tr.UID)
	}
	a.recordProgress(tr, complete)
	return err
}

// deliverPending delivers the TaskRun's transitions not yet done, in order,
// and stops at the first that fails (its error) or once another replica
// leads the TaskRun's bucket. complete: every transition is done.
func (a *Adapter) deliverPending(ctx context.Context, tr *pipelinev1.TaskRun) (complete bool, err error) {
	key := types.NamespacedName{Namespace: tr.Namespace, Name: tr.Name}
	progress := a.progress(tr)
	for _, t := range transitions.ForTaskRun(tr, a.cfg.NotBefore.Time) {
		if progress.Done(t) {
			continue
		}
		if !a.owns(key) {
			// Demoted meanwhile: the next leader takes over from the
			// checkpoint the demotion wrote.
			return false, nil
		}
		if err := a.deliver(ctx, tr, t); err != nil {
			return false, err
		}
		progress.Record(t)
		a.ledger.delivered(tr.UID, key, progress, time.Now())
	}
	return true, nil
}

// progress is where the TaskRun's delivery resumes: the further of its
// checkpoint annotation and this process's memory.
func (a *Adapter) progress(tr *pipelinev1.TaskRun) *checkpoint.Progress {
	p, err := checkpoint.FromTaskRun(tr, a.cfg.SourceUID)
	if err != nil {
		a.logger.Warnw("Ignoring unreadable checkpoint", zap.Error(err))
	}
	return a.ledger.progress(tr.UID, p)
}

// deliver builds the transition's event and sends it unless the filters drop
// it. A nil error means the transition is done: acknowledged, filtered out,
// or permanently rejected by the sink (an answer retrying cannot fix, see
// retryable; it is logged, counted and shown on the source instead).
func (a *Adapter) deliver(ctx context.Context, tr *pipelinev1.TaskRun, t transitions.Transition) error {
	log := a.stepLog(ctx, tr, t)
	event, err := events.New(tr, t, log)
	if err != nil {
		return err
	}
	if err := a.send(ctx, tr, event); err != nil {
		// Retried with the same log.
		a.retryLogs.hold(tr, event.ID(), log)
		return err
	}
	a.retryLogs.release(tr.UID)
	return nil
}

// stepLog is the log a terminal transition carries: the one read for its
// first attempt, or, for the first attempt, the tail of the step
// container's log, read within SendTimeout. nil for transitions that carry
// no log.
func (a *Adapter) stepLog(ctx context.Context, tr *pipelinev1.TaskRun, t transitions.Transition) *steplog.Log {
	if (t.Kind != transitions.Succeeded && t.Kind != transitions.Failed) || a.cfg.LogMaxBytes <= 0 || t.PodName == "" {
		return nil
	}
	if log, ok := a.retryLogs.get(tr.UID, t.ID(tr.UID)); ok {
		return log
	}
	readCtx, cancel := context.WithTimeout(ctx, a.opts.SendTimeout)
	defer cancel()
	return a.logs.Tail(readCtx, tr.Namespace, t.PodName, t.StepState.Container, a.cfg.LogMaxBytes)
}

// send sends the event unless the filters drop it. A nil error means the
// transition is done: acknowledged, filtered out, or permanently rejected
// by the sink (see deliver).
func (a *Adapter) send(ctx context.Context, tr *pipelinev1.TaskRun, event cloudevents.Event) error {
	logger := a.logger.With(zap.String("id", event.ID()), zap.String("type", event.Type()),
		zap.String("taskrun", tr.Namespace+"/"+tr.Name))
	if a.filter != nil && a.filter.Filter(ctx, event) == eventfilter.FailFilter {
		logger.Debug("Event dropped by the source's filters")
		a.stats.filtered.Add(ctx, 1, a.stats.attrs)
		return nil
	}
	sendCtx, cancel := context.WithTimeout(ctx, a.opts.SendTimeout)
	defer cancel()
	start := time.Now()
	result := a.opts.CloudEvents.Send(sendCtx, event)
	if cloudevents.IsACK(result) {
		logger.Debug("Event delivered")
		a.stats.sent(ctx, event.Type(), time.Since(start), a.stats.delivered)
		return nil
	}
	var httpResult *cehttp.Result
	if cloudevents.ResultAs(result, &httpResult) && !retryable(httpResult.StatusCode) {
		logger.Errorw("Sink rejected the event permanently; not retrying", zap.Int("status", httpResult.StatusCode))
		a.stats.sent(ctx, event.Type(), time.Since(start), a.stats.rejected)
		a.sourceEvents.warn(ReasonEventRejected, "The sink answered %d to event %s (%s of TaskRun %s/%s); not retried",
			httpResult.StatusCode, event.ID(), event.Type(), tr.Namespace, tr.Name)
		return nil
	}
	a.stats.sent(ctx, event.Type(), time.Since(start), a.stats.failed)
	return fmt.Errorf("sending %s: %w", event.ID(), result)
}

// retryable reports whether a sink's answer may succeed on retry: the set
// Knative's dispatcher retries (kncloudevents.SelectiveRetry;
// TestRetryableAsKnative keeps them equal): 404 (a Broker's ingress while
// it is re-created), 408, 409, 429 and 5xx. Linking kncloudevents for it
// would add the Broker and most of Eventing's APIs to the adapter binary.
func retryable(status int) bool {
	return status >= 500 || status == http.StatusNotFound || status == http.StatusRequestTimeout ||
		status == http.StatusConflict || status == http.StatusTooManyRequests
}
