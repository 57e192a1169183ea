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
	"time"

	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
)

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
		err := a.writeJournal(ctx, a.owns)
		last = time.Now()
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

// writeJournal writes, in one patch, the pending entries of the TaskRuns
// that match: the delivered progress of running ones, and the removal of
// those the annotation now covers or that are gone. Pending entries of
// TaskRuns this replica does not handle are left to their bucket's leader.
// Like an annotation write, it outlives ctx's cancellation.
func (a *Adapter) writeJournal(ctx context.Context, match func(types.NamespacedName) bool) error {
	a.journalWriting.Lock()
	defer a.journalWriting.Unlock()

	a.mu.Lock()
	set := map[types.UID]string{}
	written := map[types.UID]*checkpoint.Progress{}
	var remove []types.UID
	for uid := range a.journalPending {
		st := a.runs[uid]
		switch {
		case st == nil:
			if _, ok := a.journalSizes[uid]; ok {
				remove = append(remove, uid)
			}
		case !match(st.key):
			if !a.owns(st.key) {
				delete(a.journalPending, uid)
			}
			continue
		case st.saved.Covers(st.delivered):
			if st.journaled != nil {
				remove = append(remove, uid)
			}
		case st.journaled != nil && st.journaled.Covers(st.delivered):
		default:
			value, err := checkpoint.EncodeEntry(checkpoint.Entry{TaskRun: st.key, Progress: st.delivered})
			if err != nil {
				a.mu.Unlock()
				return err
			}
			set[uid], written[uid] = value, st.delivered.Clone()
		}
		delete(a.journalPending, uid)
	}
	a.mu.Unlock()
	if len(set) == 0 && len(remove) == 0 {
		return nil
	}

	writeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.opts.SendTimeout)
	defer cancel()
	err := a.journal.Write(writeCtx, set, remove)
	a.stats.checkpointWrote(writeCtx, storeJournal, err)

	a.mu.Lock()
	if err != nil {
		for uid := range set {
			a.journalPending[uid] = struct{}{}
		}
		for _, uid := range remove {
			a.journalPending[uid] = struct{}{}
		}
		a.mu.Unlock()
		return err
	}
	again := false
	for uid, value := range set {
		a.setJournalSize(uid, checkpoint.EntrySize(uid, value))
		st := a.runs[uid]
		if st != nil {
			st.journaled = written[uid]
		}
		// Deleted, or annotated, while the write was on its way: the entry
		// just written is already obsolete.
		if st == nil || st.saved.Covers(st.journaled) {
			a.journalPending[uid] = struct{}{}
			again = true
		}
	}
	for _, uid := range remove {
		if st := a.runs[uid]; st != nil {
			st.journaled = nil
		}
		a.setJournalSize(uid, 0)
	}
	a.mu.Unlock()
	if again {
		a.kickJournal()
	}
	return nil
}

// setJournalSize records the size of a TaskRun's journal entry; 0 means it
// has none. a.mu must be held.
func (a *Adapter) setJournalSize(uid types.UID, size int) {
	a.journalBytes -= a.journalSizes[uid]
	delete(a.journalSizes, uid)
	if size > 0 {
		a.journalSizes[uid] = size
		a.journalBytes += size
	}
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
	a.mu.Lock()
	defer a.mu.Unlock()
	for uid, e := range entries {
		a.setJournalSize(uid, e.Size)
		if !match(e.TaskRun) {
			continue
		}
		st := a.runs[uid]
		if st == nil {
			st = &runState{key: e.TaskRun, delivered: e.Progress.Clone(), saved: &checkpoint.Progress{}, savedAt: time.Now()}
			a.runs[uid] = st
		} else if e.Progress.Covers(st.delivered) {
			st.delivered = e.Progress.Clone()
		}
		st.journaled = e.Progress
	}
	return nil
}

// loadJournalRetrying reads the whole journal at start, retrying with
// backoff (the apiserver may be unavailable a while, or the account not yet
// allowed to read it) until it succeeds or ctx is done.
func (a *Adapter) loadJournalRetrying(ctx context.Context) error {
	backoff := a.journalBackoff()
	for {
		err := a.loadJournal(ctx, func(types.NamespacedName) bool { return true })
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

// pruneJournal, once the informers have synced, drops the journal entries
// of TaskRuns that are gone (deleted while no adapter ran) and of those
// whose annotation covers them (the adapter stopped between the two
// writes), so the journal holds running TaskRuns only.
func (a *Adapter) pruneJournal() {
	a.mu.Lock()
	type seeded struct {
		uid types.UID
		key types.NamespacedName
	}
	var candidates []seeded
	for uid, st := range a.runs {
		if st.journaled != nil {
			candidates = append(candidates, seeded{uid, st.key})
		}
	}
	a.mu.Unlock()
	pruned := 0
	for _, c := range candidates {
		var annotated *checkpoint.Progress
		lister := a.listers(c.key.Namespace)
		if lister != nil {
			if tr, err := lister.Get(c.key.Name); err == nil && tr.UID == c.uid {
				p, err := checkpoint.FromTaskRun(tr, a.cfg.SourceUID)
				if err != nil {
					continue
				}
				annotated = p
			}
		}
		a.mu.Lock()
		if st := a.runs[c.uid]; st != nil {
			switch {
			case annotated == nil:
				// Gone, or no longer watched.
				delete(a.runs, c.uid)
			case st.journaled != nil && annotated.Covers(st.journaled):
				st.saved = annotated
			default:
				a.mu.Unlock()
				continue
			}
			a.journalPending[c.uid] = struct{}{}
			pruned++
		}
		a.mu.Unlock()
	}
	if pruned > 0 {
		a.logger.Infow("Pruning the progress journal", zap.Int("entries", pruned))
		a.kickJournal()
	}
}
