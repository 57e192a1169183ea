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

package progress

import (
	"context"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
)

// This file is the Recorder's journal writer and reader: the running
// TaskRuns' progress, in the source's journal ConfigMap, written at most
// once per interval for all of them together.

// kickJournal wakes the journal writer.
func (r *Recorder) kickJournal() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// RunJournal writes the journal's pending entries of the TaskRuns this
// replica handles, at most once per checkpoint interval, until ctx is done.
// A failed write is retried with backoff; the deliveries go on meanwhile,
// and a crash before the next successful write can only repeat events.
func (r *Recorder) RunJournal(ctx context.Context) {
	var last time.Time
	backoff := r.journalBackoff()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		}
		if wait := r.opts.Interval - time.Since(last); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		overflow, err := r.writeJournal(ctx, r.opts.Owns, nil)
		last = time.Now()
		for _, uid := range overflow {
			r.saves.Add(uid)
		}
		if err == nil {
			backoff.Forget(journalRetries)
			continue
		}
		delay := backoff.When(journalRetries)
		r.opts.Logger.Warnw("Progress journal not written, will retry", zap.String("configMap", r.journal.Name()),
			zap.Int("retries", backoff.NumRequeues(journalRetries)), zap.Duration("delay", delay), zap.Error(err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
			r.kickJournal()
		}
	}
}

// journalRetries keys the journal's backoff.
const journalRetries = "journal"

// journalBackoff is the exponential backoff of the journal's reads and
// writes, between the adapter's RetryBaseDelay and RetryMaxDelay as for
// deliveries.
func (r *Recorder) journalBackoff() workqueue.TypedRateLimiter[string] {
	return workqueue.NewTypedItemExponentialFailureRateLimiter[string](r.opts.RetryBase, r.opts.RetryMax)
}

// writeJournal writes, in one patch, the pending journal entries of the
// TaskRuns that match (ledger.takeJournalBatch), after plan (when not nil)
// has run with the journal's writer held. It returns the running
// TaskRuns whose progress does not fit the journal: their annotation is to
// be written instead. Like an annotation write, it outlives ctx's
// cancellation.
func (r *Recorder) writeJournal(ctx context.Context, match func(types.NamespacedName) bool, plan func()) ([]types.UID, error) {
	r.writing.Lock()
	defer r.writing.Unlock()
	if plan != nil {
		plan()
	}
	batch, err := r.ledger.takeJournalBatch(match, r.opts.Owns)
	if err != nil || batch.empty() {
		return batch.overflow, err
	}
	writeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.Timeout)
	defer cancel()
	total, err := r.journal.Write(writeCtx, batch.set, batch.remove)
	outcome, metric := written, OutcomeWritten
	switch {
	case apierrors.IsInvalid(err) || apierrors.IsRequestEntityTooLargeError(err):
		// Retrying the same write cannot help; the next one only removes.
		outcome, metric = refused, OutcomeRefused
		r.opts.Logger.Warnw("The progress journal refused a write; new running TaskRuns are checkpointed in their annotation",
			zap.String("configMap", r.journal.Name()), zap.Int("entries", len(batch.set)), zap.Error(err))
	case err != nil:
		outcome, metric = notWritten, OutcomeFailed
	}
	r.opts.Wrote(writeCtx, StoreJournal, metric)
	again, overflow := r.ledger.journalWritten(batch, outcome, total)
	if again {
		r.kickJournal()
	}
	overflow = append(batch.overflow, overflow...)
	if outcome == refused {
		return overflow, nil
	}
	return overflow, err
}

// Load reads the journal entries of the TaskRuns that match into
// what this process knows, where they are further.
func (r *Recorder) Load(ctx context.Context, match func(types.NamespacedName) bool) error {
	entries, bad, err := r.journal.Load(ctx)
	if err != nil {
		return err
	}
	for _, err := range bad {
		r.opts.Logger.Warnw("Ignoring an unreadable journal entry; its TaskRun may send events again", zap.Error(err))
	}
	r.ledger.load(entries, match, time.Now())
	return nil
}

// LoadAll reads the whole journal at start, retrying with
// backoff (the apiserver may be unavailable a while, or the account not yet
// allowed to read it) until it succeeds or ctx is done.
func (r *Recorder) LoadAll(ctx context.Context) error {
	backoff := r.journalBackoff()
	for {
		since, err := r.journal.RecordsNameTaskRunsSince(ctx, time.Now())
		if err == nil {
			// Before the informers start, which read checkpoints.
			r.legacyBefore = since
			err = r.Load(ctx, func(types.NamespacedName) bool { return true })
		}
		if err == nil {
			return nil
		}
		delay := backoff.When(journalRetries)
		r.opts.Logger.Warnw("Cannot read the progress journal yet, will retry", zap.String("configMap", r.journal.Name()),
			zap.Duration("delay", delay), zap.Error(err))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
	}
}

// Checkpoint is the source's checkpoint on the TaskRun (see
// checkpoint.FromTaskRun).
func (r *Recorder) Checkpoint(tr *pipelinev1.TaskRun) (*checkpoint.Progress, error) {
	return checkpoint.FromTaskRun(tr, r.opts.SourceUID, r.legacyBefore)
}

// Prune, once the informers have synced, drops the journal entries
// of TaskRuns that are gone and of those whose annotation covers them
// (ledger.prune), so the journal holds running TaskRuns only.
func (r *Recorder) Prune() {
	pruned := 0
	for uid, key := range r.ledger.journaled() {
		if !r.opts.Synced(key.Namespace) {
			// Joined since the start and still being listed: not gone.
			continue
		}
		// Not cached: gone, annotated nil.
		annotated, _, err := r.cachedCheckpoint(key, uid)
		if err != nil {
			continue
		}
		if r.ledger.prune(uid, annotated) {
			pruned++
		}
	}
	if pruned > 0 {
		r.opts.Logger.Infow("Pruning the progress journal", zap.Int("entries", pruned))
		r.kickJournal()
	}
}
