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
	"k8s.io/apimachinery/pkg/types"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
)

// The ledger's journal decisions: which entries one journal write sets and
// removes, within this replica's share of the room, and what its outcome
// changes.

// journalBatch is one journal write: the entries to set (encoded) and to
// remove. overflow lists the running TaskRuns whose new entry did not fit:
// their annotation is to be written instead.
type journalBatch struct {
	set      map[types.UID]string
	written  map[types.UID]*checkpoint.Progress
	remove   []types.UID
	overflow []types.UID
}

func (b journalBatch) empty() bool { return len(b.set) == 0 && len(b.remove) == 0 }

// takeJournalBatch takes the pending journal entries of the TaskRuns that
// match: the delivered progress of running ones, and the removal of those
// the annotation now covers or that are gone. Pending entries of TaskRuns
// that do not match stay pending, unless owns says another replica leads
// them now (their bucket's leader writes them). New entries go in only as
// far as this replica's share of the journal's room allows (however many
// TaskRuns started within one interval); the others overflow to their
// annotations. Entries the journal has are always kept current.
func (l *ledger) takeJournalBatch(match, owns func(types.NamespacedName) bool) (journalBatch, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := journalBatch{set: map[types.UID]string{}, written: map[types.UID]*checkpoint.Progress{}}
	room := (l.journalMax - l.journalBytes) / l.writers
	taken := make([]types.UID, 0, len(l.journalPending))
	for uid := range l.journalPending {
		st := l.runs[uid]
		switch {
		case st == nil:
			if _, ok := l.journalSizes[uid]; ok {
				b.remove = append(b.remove, uid)
			}
		case !match(st.key):
			if !owns(st.key) {
				delete(l.journalPending, uid)
			}
			continue
		case st.saved.Covers(st.delivered):
			if st.journaled != nil {
				b.remove = append(b.remove, uid)
			}
		case st.journaled != nil && st.journaled.Covers(st.delivered):
		case l.journalRefused:
			// Left pending until a removal has made room.
			continue
		default:
			value, err := checkpoint.EncodeEntry(checkpoint.Entry{TaskRun: st.key, Progress: st.delivered})
			if err != nil {
				// Nothing taken: every entry stays pending.
				return journalBatch{}, err
			}
			if size := checkpoint.EntrySize(uid, value); st.journaled == nil {
				if size > room {
					if !st.unannotatable {
						b.overflow = append(b.overflow, uid)
					}
					// An unannotatable TaskRun that does not fit is
					// recorded nowhere: a crash repeats its events.
					break
				}
				room -= size
			}
			b.set[uid], b.written[uid] = value, st.delivered.Clone()
		}
		taken = append(taken, uid)
	}
	for _, uid := range taken {
		delete(l.journalPending, uid)
	}
	return b, nil
}

// journalWritten records the outcome of writing b; total is the journal's
// size the apiserver answered with (all replicas' entries), when written. A
// failed batch is pending again. A refused one (the journal would be too
// large) marks the journal full: its new entries overflow to their
// annotations, the rest is pending again. It reports whether another write
// is due at once (an entry whose TaskRun was deleted or annotated while the
// write was on its way is already obsolete) and the TaskRuns whose
// annotation is to be written instead.
func (l *ledger) journalWritten(b journalBatch, outcome writeOutcome, total int) (bool, []types.UID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if outcome != written {
		var overflow []types.UID
		for uid := range b.set {
			if st := l.runs[uid]; outcome == refused && st != nil && st.journaled == nil && !st.unannotatable {
				overflow = append(overflow, uid)
				continue
			}
			l.journalPending[uid] = struct{}{}
		}
		for _, uid := range b.remove {
			l.journalPending[uid] = struct{}{}
		}
		if outcome == refused {
			l.journalBytes = max(l.journalBytes, l.journalMax)
			l.journalRefused = true
		}
		return false, overflow
	}
	l.journalRefused = false
	again := false
	for uid, value := range b.set {
		l.setJournalSize(uid, checkpoint.EntrySize(uid, value))
		st := l.runs[uid]
		if st != nil {
			st.journaled = b.written[uid]
		}
		if st == nil || st.saved.Covers(st.journaled) {
			l.journalPending[uid] = struct{}{}
			again = true
		}
	}
	for _, uid := range b.remove {
		if st := l.runs[uid]; st != nil {
			st.journaled = nil
		}
		l.setJournalSize(uid, 0)
	}
	l.journalBytes = total
	return again, nil
}

// setJournalSize records the size of a TaskRun's journal entry; 0 means it
// has none. l.mu must be held.
func (l *ledger) setJournalSize(uid types.UID, size int) {
	l.journalBytes -= l.journalSizes[uid]
	delete(l.journalSizes, uid)
	if size > 0 {
		l.journalSizes[uid] = size
		l.journalBytes += size
	}
}
