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

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/streams"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
)

// This file is the delivery worker: it takes a TaskRun name off the queue
// and delivers the pending transitions of its incarnations, in order, then
// records the progress; a failure retries the name after a wait.

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
		return &retryAfterError{wait: streams.HandlerLag}
	}
	for _, gone := range a.streams.Deleted(key) {
		if complete, err := a.deliverPending(ctx, gone); !complete {
			return err
		}
		// Delivered: nothing is left to record, and the journal entry goes.
		a.forget(ctx, streams.Incarnation(key, gone.UID), streams.Delivered)
	}
	tr := a.cached(key)
	if tr == nil {
		return nil
	}
	if a.streams.Behind(key, tr.UID) {
		// Replaced while the deleted ones were delivered.
		return &retryAfterError{wait: streams.HandlerLag}
	}
	complete, err := a.deliverPending(ctx, tr)
	if complete {
		// Done without a send of its own (a checkpoint covered the rest).
		a.streams.Release(key, tr.UID, streams.Live)
	}
	a.progress.Record(tr, complete)
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
	tr := a.cached(key)
	return tr != nil && a.streams.Behind(key, tr.UID)
}

// deliverPending delivers the TaskRun's transitions not yet done, in order,
// and stops at the first that fails (its error) or once another replica
// leads the TaskRun's bucket. complete: every transition is done.
func (a *Adapter) deliverPending(ctx context.Context, tr *pipelinev1.TaskRun) (complete bool, err error) {
	progress := a.progress.Resume(tr)
	for _, t := range transitions.AfterReported(transitions.ForTaskRun(tr, a.opts.Config.NotBefore.Time), progress.Done) {
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
	return a.sendOwned(key, func() error {
		if err := a.deliver(ctx, tr, t, streams.Live, ""); err != nil {
			return err
		}
		progress.Record(t)
		a.progress.Delivered(tr.UID, key, progress)
		return nil
	})
}

// sendOwned runs send, a delivery of the TaskRun of the key, live or
// replayed, unless another replica leads its bucket by now (owned false:
// the next leader takes over from the checkpoint the demotion wrote). The
// send counts as under way until it returns, even by a panic, so that a
// hand-over or a namespace leaving waits for it before it lets go of what
// the send may put back.
func (a *Adapter) sendOwned(key types.NamespacedName, send func() error) (owned bool, err error) {
	a.streams.Begin(key)
	defer a.streams.End(key)
	if !a.owns(key) {
		return false, nil
	}
	return true, send()
}

// processNext runs do on the next key of q, and retries the key when do
// fails: after the wait a *retryAfterError asks for, else with q's
// backoff. A panic in do fails the key (logged with its stack), not the
// process: one TaskRun no code expected stops only itself. It reports
// false once q is shut down.
func processNext[K comparable](ctx context.Context, q workqueue.TypedRateLimitingInterface[K], logger *zap.SugaredLogger,
	failure string, do func(context.Context, K) error) bool {
	key, quit := q.Get()
	if quit {
		return false
	}
	defer q.Done(key)
	_, err := guarded(func() (struct{}, error) { return struct{}{}, do(ctx, key) })
	if p, ok := err.(*panicError); ok {
		logger.Errorw(failure+": panicked", zap.String("taskrun", fmt.Sprint(key)), zap.Error(err), zap.ByteString("stack", p.stack))
	}
	if err != nil {
		var wait *retryAfterError
		if errors.As(err, &wait) {
			if wait.err != nil && ctx.Err() == nil {
				logger.Warnw(failure+", will retry", zap.String("taskrun", fmt.Sprint(key)), zap.Duration("after", wait.wait), zap.Error(wait.err))
			}
			q.AddAfter(key, wait.wait)
			return true
		}
		if ctx.Err() == nil {
			logger.Warnw(failure+", will retry", zap.String("taskrun", fmt.Sprint(key)), zap.Int("retries", q.NumRequeues(key)), zap.Error(err))
		}
		q.AddRateLimited(key)
		return true
	}
	q.Forget(key)
	return true
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
