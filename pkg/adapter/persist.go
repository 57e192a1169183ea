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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
)

// This file writes and reads the checkpoints the ledger (progress.go)
// decides on: the TaskRuns' annotations, through the saves queue, and the
// source's journal, through one writer goroutine.

// recordProgress carries out the ledger's decision on the TaskRun after a delivery
// round. Either way a running TaskRun's events cost no TaskRun write, nor
// the watch event such a write echoes to every TaskRun watcher, each.
func (a *Adapter) recordProgress(tr *pipelinev1.TaskRun, allDelivered bool) {
	finished := allDelivered && transitions.Final(tr)
	annotated, err := a.checkpointOf(tr)
	if err != nil {
		annotated = nil
	}
	switch r := a.ledger.schedule(tr.UID, finished, annotated, time.Now()); {
	case r.where == toJournal:
		a.kickJournal()
	case r.where == toAnnotation && r.after > 0:
		a.saves.AddAfter(tr.UID, r.after)
	case r.where == toAnnotation:
		a.saves.Add(tr.UID)
	}
}

// saveOwned writes the TaskRun's checkpoint if this replica still handles
// it. A TaskRun whose bucket moved to another replica was written by the
// demotion's flush; writing it now could overwrite the new leader's further
// progress.
func (a *Adapter) saveOwned(ctx context.Context, uid types.UID) error {
	if key, ok := a.ledger.keyOf(uid); !ok || !a.owns(key) {
		return nil
	}
	return a.save(ctx, uid)
}

// save writes the TaskRun's delivered progress to its annotation unless
// what this process wrote already covers it. A shutdown must not cancel the
// record of events the sink already acknowledged, so the write outlives
// ctx's cancellation.
func (a *Adapter) save(ctx context.Context, uid types.UID) error {
	w, ok := a.ledger.beginAnnotation(uid)
	if !ok {
		return nil
	}
	// Every way out ends the write, a panic's too (recovered by the
	// worker): a write begun and never ended would block the TaskRun's
	// next save and the shutdown's flush for good.
	ended := false
	end := func(o writeOutcome) bool {
		ended = true
		return a.ledger.endAnnotation(w, o, time.Now())
	}
	defer func() {
		if !ended {
			a.ledger.endAnnotation(w, notWritten, time.Now())
		}
	}()
	if a.annotationCovers(w) {
		// Another replica, leading the bucket now, wrote as much or more:
		// writing would put older progress back.
		if end(written) {
			a.kickJournal()
		}
		return nil
	}
	saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.opts.SendTimeout)
	defer cancel()
	err := a.store.Save(saveCtx, w.key.Namespace, w.key.Name, uid, w.progress)
	switch {
	case apierrors.IsNotFound(err) || apierrors.IsConflict(err) || replaced(err):
		// A TaskRun deleted or replaced meanwhile has nothing left to record.
		end(notWritten)
		return nil
	case apierrors.IsInvalid(err) || apierrors.IsRequestEntityTooLargeError(err):
		// Retrying cannot help: the TaskRun's annotations would be too
		// large with ours. Its progress stays in the journal instead.
		a.stats.checkpointWrote(saveCtx, storeAnnotation, outcomeRefused)
		a.logger.Warnw("The TaskRun's checkpoint annotation was refused; its progress stays in the journal",
			zap.String("taskrun", w.key.String()), zap.Error(err))
		if end(refused) {
			a.kickJournal()
		}
		return nil
	case err != nil:
		a.stats.checkpointWrote(saveCtx, storeAnnotation, outcomeFailed)
		end(notWritten)
		return fmt.Errorf("saving the checkpoint of TaskRun %s: %w", w.key, err)
	}
	a.stats.checkpointWrote(saveCtx, storeAnnotation, outcomeWritten)
	if end(written) {
		a.kickJournal()
	}
	return nil
}

// annotationCovers reports whether the TaskRun, as the watch last saw it,
// carries a checkpoint that covers the write and that its status bears
// out (a forged one is written over).
func (a *Adapter) annotationCovers(w annotationWrite) bool {
	on, cached, err := a.cachedCheckpoint(w.key, w.uid)
	return cached && err == nil && on.Covers(w.progress)
}

// cachedCheckpoint is the checkpoint annotation of the TaskRun as the watch
// last saw it (empty without one); cached is false when the watch holds no
// TaskRun of that name and UID. err: the annotation is unreadable, or
// claims more than the status shows (checkpoint.FromTaskRun).
func (a *Adapter) cachedCheckpoint(key types.NamespacedName, uid types.UID) (p *checkpoint.Progress, cached bool, err error) {
	lister := a.watches.lister(key.Namespace)
	if lister == nil {
		return nil, false, nil
	}
	tr, err := lister.Get(key.Name)
	if err != nil || tr.UID != uid {
		return nil, false, nil
	}
	p, err = a.checkpointOf(tr)
	return p, true, err
}

// replaced reports whether a checkpoint write failed because the TaskRun
// of that name is another one now: the patch's metadata.uid (the
// precondition Store.Save sets) does not match.
func replaced(err error) bool {
	var status apierrors.APIStatus
	if !apierrors.IsInvalid(err) || !errors.As(err, &status) || status.Status().Details == nil {
		return false
	}
	causes := status.Status().Details.Causes
	for _, c := range causes {
		if c.Field != "metadata.uid" {
			return false
		}
	}
	return len(causes) > 0
}

// flush writes the progress not yet recorded of the TaskRuns that match, on
// shutdown or when a bucket moves to another replica: finished attempts to
// their annotation, running TaskRuns to the journal in one write, and those
// that do not fit the journal to their annotation.
func (a *Adapter) flush(ctx context.Context, match func(types.NamespacedName) bool) {
	planned := a.ledger.flushPlan(match)
	for uid, key := range planned {
		if err := a.save(ctx, uid); err != nil {
			a.logger.Warnw("Could not write the checkpoint on shutdown; its events may be sent again",
				zap.String("taskrun", key.String()), zap.Error(err))
		}
	}
	// The journal's part planned again with its writer held: a periodic
	// write between the first plan and this one takes the entries of a
	// bucket being let go as another replica's (this one no longer owns
	// it) and drops them; it may also have filled the journal, and what no
	// longer fits goes to the annotations as well.
	var annotate []types.UID
	overflow, err := a.writeJournal(ctx, match, func() {
		for uid := range a.ledger.flushPlan(match) {
			if _, tried := planned[uid]; !tried {
				annotate = append(annotate, uid)
			}
		}
	})
	if err != nil {
		a.logger.Warnw("Could not write the progress journal on shutdown; running TaskRuns may send events again", zap.Error(err))
	}
	// What did not fit the journal goes to the annotations now: the saves
	// queue is shut down (shutdown) or skips what this replica no longer
	// leads (demotion).
	for _, uid := range append(annotate, overflow...) {
		if err := a.save(ctx, uid); err != nil {
			a.logger.Warnw("Could not write the checkpoint on shutdown; its events may be sent again", zap.String("uid", string(uid)), zap.Error(err))
		}
	}
}

// kickJournal wakes the journal writer.
func (a *Adapter) kickJournal() {
	select {
	case a.journalKick <- struct{}{}:
	default:
	}
}

// runJournal writes the journal's pending entries of the TaskRuns this
// replica handles, at most once per checkpoint interval, until ctx is done.
// A failed write is retried with backoff; the deliveries go on meanwhile,
// and a crash before the next successful write can only repeat events.
func (a *Adapter) runJournal(ctx context.Context) {
	var last time.Time
	backoff := a.journalBackoff()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.journalKick:
		}
		if wait := a.opts.CheckpointInterval - time.Since(last); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		overflow, err := a.writeJournal(ctx, a.owns, nil)
		last = time.Now()
		for _, uid := range overflow {
			a.saves.Add(uid)
		}
		if err == nil {
			backoff.Forget(journalRetries)
			continue
		}
		delay := backoff.When(journalRetries)
		a.logger.Warnw("Progress journal not written, will retry", zap.String("configMap", a.journal.Name()),
			zap.Int("retries", backoff.NumRequeues(journalRetries)), zap.Duration("delay", delay), zap.Error(err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
			a.kickJournal()
		}
	}
}

// journalRetries keys the journal's backoff.
const journalRetries = "journal"

// journalBackoff is the exponential backoff of the journal's reads and
// writes, between the adapter's RetryBaseDelay and RetryMaxDelay as for
// deliveries.
func (a *Adapter) journalBackoff() workqueue.TypedRateLimiter[string] {
	return workqueue.NewTypedItemExponentialFailureRateLimiter[string](a.opts.RetryBaseDelay, a.opts.RetryMaxDelay)
}

// writeJournal writes, in one patch, the pending journal entries of the
// TaskRuns that match (ledger.takeJournalBatch), after plan (when not nil)
// has run with the journal's writer held. It returns the running
// TaskRuns whose progress does not fit the journal: their annotation is to
// be written instead. Like an annotation write, it outlives ctx's
// cancellation.
func (a *Adapter) writeJournal(ctx context.Context, match func(types.NamespacedName) bool, plan func()) ([]types.UID, error) {
	a.journalWriting.Lock()
	defer a.journalWriting.Unlock()
	if plan != nil {
		plan()
	}
	batch, err := a.ledger.takeJournalBatch(match, a.owns)
	if err != nil || batch.empty() {
		return batch.overflow, err
	}
	writeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.opts.SendTimeout)
	defer cancel()
	total, err := a.journal.Write(writeCtx, batch.set, batch.remove)
	outcome, metric := written, outcomeWritten
	switch {
	case apierrors.IsInvalid(err) || apierrors.IsRequestEntityTooLargeError(err):
		// Retrying the same write cannot help; the next one only removes.
		outcome, metric = refused, outcomeRefused
		a.logger.Warnw("The progress journal refused a write; new running TaskRuns are checkpointed in their annotation",
			zap.String("configMap", a.journal.Name()), zap.Int("entries", len(batch.set)), zap.Error(err))
	case err != nil:
		outcome, metric = notWritten, outcomeFailed
	}
	a.stats.checkpointWrote(writeCtx, storeJournal, metric)
	again, overflow := a.ledger.journalWritten(batch, outcome, total)
	if again {
		a.kickJournal()
	}
	overflow = append(batch.overflow, overflow...)
	if outcome == refused {
		return overflow, nil
	}
	return overflow, err
}

// loadJournal reads the journal entries of the TaskRuns that match into
// what this process knows, where they are further.
func (a *Adapter) loadJournal(ctx context.Context, match func(types.NamespacedName) bool) error {
	entries, bad, err := a.journal.Load(ctx)
	if err != nil {
		return err
	}
	for _, err := range bad {
		a.logger.Warnw("Ignoring an unreadable journal entry; its TaskRun may send events again", zap.Error(err))
	}
	a.ledger.load(entries, match, time.Now())
	return nil
}

// loadJournalRetrying reads the whole journal at start, retrying with
// backoff (the apiserver may be unavailable a while, or the account not yet
// allowed to read it) until it succeeds or ctx is done.
func (a *Adapter) loadJournalRetrying(ctx context.Context) error {
	backoff := a.journalBackoff()
	for {
		since, err := a.journal.RecordsNameTaskRunsSince(ctx, time.Now())
		if err == nil {
			// Before the informers start, which read checkpoints.
			a.legacyBefore = since
			err = a.loadJournal(ctx, func(types.NamespacedName) bool { return true })
		}
		if err == nil {
			return nil
		}
		delay := backoff.When(journalRetries)
		a.logger.Warnw("Cannot read the progress journal yet, will retry", zap.String("configMap", a.journal.Name()),
			zap.Duration("delay", delay), zap.Error(err))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
	}
}

// checkpointOf is the source's checkpoint on the TaskRun (see
// checkpoint.FromTaskRun).
func (a *Adapter) checkpointOf(tr *pipelinev1.TaskRun) (*checkpoint.Progress, error) {
	return checkpoint.FromTaskRun(tr, a.cfg.SourceUID, a.legacyBefore)
}

// pruneJournal, once the informers have synced, drops the journal entries
// of TaskRuns that are gone and of those whose annotation covers them
// (ledger.prune), so the journal holds running TaskRuns only.
func (a *Adapter) pruneJournal() {
	pruned := 0
	for uid, key := range a.ledger.journaled() {
		if !a.watches.syncedFor(key.Namespace) {
			// Joined since the start and still being listed: not gone.
			continue
		}
		// Not cached: gone, annotated nil.
		annotated, _, err := a.cachedCheckpoint(key, uid)
		if err != nil {
			continue
		}
		if a.ledger.prune(uid, annotated) {
			pruned++
		}
	}
	if pruned > 0 {
		a.logger.Infow("Pruning the progress journal", zap.Int("entries", pruned))
		a.kickJournal()
	}
}
