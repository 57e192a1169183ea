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

// Package progress records how far each TaskRun's delivery got: the
// ledger decides, from what this process knows, where each TaskRun's
// delivered progress belongs (its annotation, the source's journal, or
// nowhere yet) and when; the Recorder carries those decisions out and
// reads the records back at start and when a bucket is promoted.
package progress

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
)

// ledger is the checkpoint placement policy: what this process knows of
// each TaskRun's delivery progress, where that progress is durable (the
// TaskRun's annotation, the source's journal, or nowhere yet), and so what
// must be written, where and when, and what may be pruned. Its decisions
// depend only on their arguments and its own state (the clock is an
// argument), so they are table-tested without an apiserver
// (ledger_test.go); the Recorder carries them out.
//
// The rule it enforces: a finished attempt belongs in the TaskRun's
// annotation, written at once; a running TaskRun's progress goes to the
// journal, written at most once per interval for all TaskRuns together, or,
// when the journal has no room for a new entry (journalMax, shared by the
// replicas), to the annotation, at most once per TaskRun and interval. A
// TaskRun whose annotation the apiserver refused (unannotatable) stays in
// the journal, finished or not.
type ledger struct {
	interval   time.Duration
	journalMax int
	// writers is how many replicas write the journal: each batch adds at
	// most its share of the room it last saw, so that together they add
	// at most about twice journalMax however stale their views are.
	writers int

	mu   sync.Mutex
	runs map[types.UID]*runState
	// journalPending holds the TaskRuns whose journal entry is to be
	// written or removed; journalSizes the size of each entry this process
	// knows the journal holds; journalBytes the journal's size (all
	// replicas' entries) as of the last read or write.
	journalPending map[types.UID]struct{}
	journalSizes   map[types.UID]int
	journalBytes   int
	// journalRefused: the apiserver refused the last journal write as too
	// large; until a write lands, writes only remove entries.
	journalRefused bool
}

// runState is the delivery progress of one TaskRun in this process.
type runState struct {
	key types.NamespacedName
	// delivered is what the sink acknowledged.
	delivered *checkpoint.Progress
	// witnessed: delivered is what this process saw the sink acknowledge
	// (resuming from a journal or annotation record that was not beyond
	// the TaskRun's status then), not more read from the journal since
	// (which anyone who may patch its ConfigMap can write).
	witnessed bool
	// saved is what this process last wrote to the checkpoint annotation,
	// and when.
	saved   *checkpoint.Progress
	savedAt time.Time
	// journaled is the TaskRun's journal entry as last written or read;
	// nil when the journal has none.
	journaled *checkpoint.Progress
	// finished: delivered covers a finished attempt, which belongs in the
	// annotation.
	finished bool
	// unannotatable: the apiserver refused the TaskRun's annotation (its
	// annotations would exceed the size limit); its progress stays in the
	// journal, finished or not.
	unannotatable bool
	// writing serialises the TaskRun's annotation writes, so an older
	// progress never lands after a newer one.
	writing sync.Mutex
}

func newLedger(interval time.Duration, journalMax, writers int) *ledger {
	return &ledger{
		interval:       interval,
		journalMax:     journalMax,
		writers:        max(writers, 1),
		runs:           map[types.UID]*runState{},
		journalPending: map[types.UID]struct{}{},
		journalSizes:   map[types.UID]int{},
	}
}

// recorded reports whether the delivered progress is durable where it
// belongs: a finished attempt in the annotation, a running one in the
// annotation or the journal.
func (st *runState) recorded() bool {
	if st.saved.Covers(st.delivered) {
		return true
	}
	return st.journalable() && st.journaled != nil && st.journaled.Covers(st.delivered)
}

// journalable reports whether the TaskRun's progress may stay in the
// journal: while it runs, or for good once its annotation was refused.
func (st *runState) journalable() bool { return !st.finished || st.unannotatable }

// journalFull reports whether a TaskRun without an entry is kept out of
// the journal. l.mu must be held.
func (l *ledger) journalFull(st *runState) bool {
	return st.journaled == nil && l.journalBytes >= l.journalMax
}

// progress is where a TaskRun's delivery resumes: the further of its
// durable checkpoint (the annotation) and what this process knows was
// delivered; witnessed says whether that is what this process itself saw
// delivered.
func (l *ledger) progress(uid types.UID, durable *checkpoint.Progress) (p *checkpoint.Progress, witnessed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if st := l.runs[uid]; st != nil && st.delivered.Covers(durable) {
		return st.delivered.Clone(), st.witnessed
	}
	return durable, false
}

// delivered records that the sink acknowledged the TaskRun's transitions
// up to p. The checkpoint interval starts with the first delivery, so a
// running TaskRun's first event does not cost a write of its own.
func (l *ledger) delivered(uid types.UID, key types.NamespacedName, p *checkpoint.Progress, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.runs[uid]
	if st == nil {
		st = &runState{key: key, saved: &checkpoint.Progress{}, savedAt: now}
		l.runs[uid] = st
	}
	st.delivered = p.Clone()
	st.witnessed = true
}

// placement says where a TaskRun's delivered progress goes next.
type placement struct {
	// where is nowhere (already durable), the journal (its writer is to be
	// woken) or the annotation.
	where store
	// after is how long the annotation write waits, to coalesce the writes
	// of a running TaskRun to one per interval.
	after time.Duration
}

// store is where a placement goes.
type store int

const (
	nowhere store = iota
	toJournal
	toAnnotation
)

// schedule decides, after a delivery round, where the TaskRun's delivered
// progress is recorded. finished: the round delivered every transition of
// a completed attempt. annotated is the checkpoint the TaskRun carries.
func (l *ledger) schedule(uid types.UID, finished bool, annotated *checkpoint.Progress, now time.Time) placement {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.runs[uid]
	if st == nil {
		return placement{}
	}
	st.finished = finished
	if annotated != nil && annotated.Covers(st.delivered) && !st.saved.Covers(annotated) {
		// The TaskRun carries all that was delivered, written by a
		// replica that led its bucket before or by this process before a
		// restart: nothing is to be written, least of all an older
		// progress read from the journal (a flush would put it over the
		// annotation, and the next leader would send the rest again).
		st.saved = annotated
		if st.journaled != nil && annotated.Covers(st.journaled) {
			// A replica stopped between the annotation and the removal
			// of the journal entry: the entry is obsolete.
			l.journalPending[uid] = struct{}{}
			return placement{where: toJournal}
		}
	}
	if st.recorded() {
		return placement{}
	}
	if st.journalable() && !l.journalFull(st) {
		l.journalPending[uid] = struct{}{}
		return placement{where: toJournal}
	}
	if st.unannotatable {
		// Neither store takes it: a crash repeats its events.
		return placement{}
	}
	if wait := l.interval - now.Sub(st.savedAt); !finished && wait > 0 {
		return placement{where: toAnnotation, after: wait}
	}
	return placement{where: toAnnotation}
}

// keyOf is the TaskRun's name, if the ledger tracks it.
func (l *ledger) keyOf(uid types.UID) (types.NamespacedName, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.runs[uid]
	if st == nil {
		return types.NamespacedName{}, false
	}
	return st.key, true
}

// annotationWrite is one claimed write of a TaskRun's annotation.
type annotationWrite struct {
	uid      types.UID
	key      types.NamespacedName
	progress *checkpoint.Progress
	st       *runState
}

// beginAnnotation claims the write of the TaskRun's delivered progress to
// its annotation, unless the TaskRun is gone or what this process wrote
// already covers it. A claim waits for the TaskRun's previous one to end;
// every claim must be ended with endAnnotation.
func (l *ledger) beginAnnotation(uid types.UID) (annotationWrite, bool) {
	l.mu.Lock()
	st := l.runs[uid]
	l.mu.Unlock()
	if st == nil {
		return annotationWrite{}, false
	}
	st.writing.Lock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if st.saved.Covers(st.delivered) {
		st.writing.Unlock()
		return annotationWrite{}, false
	}
	return annotationWrite{uid: uid, key: st.key, progress: st.delivered.Clone(), st: st}, true
}

// writeOutcome is how a checkpoint write ended.
type writeOutcome int

const (
	// notWritten: failed (to be retried), or the TaskRun is gone.
	notWritten writeOutcome = iota
	// written: the store holds what was written.
	written
	// refused: the apiserver will never take it as it is (a TaskRun's
	// annotations, or the journal, would be too large).
	refused
)

// endAnnotation ends a claim. It reports whether the journal writer is to
// be woken: to remove the entry a written annotation made obsolete, or to
// take the progress a refused annotation cannot hold.
func (l *ledger) endAnnotation(w annotationWrite, outcome writeOutcome, now time.Time) bool {
	defer w.st.writing.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	switch outcome {
	case notWritten:
		return false
	case refused:
		w.st.unannotatable = true
		if l.journalFull(w.st) {
			return false
		}
		l.journalPending[w.uid] = struct{}{}
		return true
	}
	w.st.saved, w.st.savedAt = w.progress, now
	if w.st.journaled != nil && w.progress.Covers(w.st.journaled) {
		l.journalPending[w.uid] = struct{}{}
		return true
	}
	return false
}

// flushPlan decides, on shutdown or when a bucket moves away, what becomes
// of the unrecorded progress of the TaskRuns that match: it returns those
// whose annotation is to be written now (finished attempts, and running
// TaskRuns that do not fit the journal), and marks the others' journal
// entries pending.
func (l *ledger) flushPlan(match func(types.NamespacedName) bool) map[types.UID]types.NamespacedName {
	l.mu.Lock()
	defer l.mu.Unlock()
	annotate := map[types.UID]types.NamespacedName{}
	for uid, st := range l.runs {
		switch {
		case !match(st.key) || st.recorded():
		case st.journalable() && !l.journalFull(st):
			l.journalPending[uid] = struct{}{}
		case st.unannotatable:
			// Neither store takes it.
		default:
			annotate[uid] = st.key
		}
	}
	return annotate
}

// drop forgets a TaskRun another replica handles, leaving its journal
// entry to that replica.
func (l *ledger) drop(uid types.UID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.runs, uid)
}

// forget drops a deleted TaskRun. It reports whether the journal writer is
// to be woken to remove the TaskRun's entry.
func (l *ledger) forget(uid types.UID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.runs, uid)
	if _, journaled := l.journalSizes[uid]; journaled {
		l.journalPending[uid] = struct{}{}
		return true
	}
	return false
}

// load takes in the journal as read: the size of every entry, and the
// progress of the TaskRuns that match where it is further than what this
// process knows.
func (l *ledger) load(entries map[types.UID]checkpoint.Entry, match func(types.NamespacedName) bool, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// The read is the journal as it is now, other replicas' entries
	// included: it replaces what this process knew of it.
	l.journalSizes = make(map[types.UID]int, len(entries))
	l.journalBytes = 0
	for uid, e := range entries {
		l.setJournalSize(uid, e.Size)
		if !match(e.TaskRun) {
			continue
		}
		st := l.runs[uid]
		if st == nil {
			st = &runState{key: e.TaskRun, delivered: e.Progress.Clone(), saved: &checkpoint.Progress{}, savedAt: now}
			l.runs[uid] = st
		} else if e.Progress.Covers(st.delivered) {
			// Another replica, or a forger, recorded more.
			st.witnessed = st.witnessed && st.delivered.Covers(e.Progress)
			st.delivered = e.Progress.Clone()
		}
		st.journaled = e.Progress
	}
}

// journaled lists the TaskRuns the journal has an entry for, as known to
// this process: the candidates of prune.
func (l *ledger) journaled() map[types.UID]types.NamespacedName {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := map[types.UID]types.NamespacedName{}
	for uid, st := range l.runs {
		if st.journaled != nil {
			c[uid] = st.key
		}
	}
	return c
}

// prune decides on one journaled TaskRun once the informers have synced:
// annotated is its checkpoint annotation, nil when it is gone (deleted
// while no adapter ran, or no longer watched). A gone TaskRun is dropped
// and an entry the annotation covers is obsolete (the adapter stopped
// between the two writes): both entries are to be removed, and prune
// reports true.
func (l *ledger) prune(uid types.UID, annotated *checkpoint.Progress) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.runs[uid]
	switch {
	case st == nil:
		return false
	case annotated == nil:
		delete(l.runs, uid)
	case st.journaled != nil && annotated.Covers(st.journaled):
		st.saved = annotated
	default:
		return false
	}
	l.journalPending[uid] = struct{}{}
	return true
}
