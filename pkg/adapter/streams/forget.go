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

package streams

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Reason is why the adapter lets (part of) a stream go.
type Reason int

const (
	// Delivered: a deleted incarnation's last events are delivered.
	Delivered Reason = iota
	// DeletedHere: an incarnation was deleted, and this replica delivers
	// its last events (the caller keeps it first: Keep).
	DeletedHere
	// DeletedElsewhere: an incarnation was deleted, and another replica
	// leads its bucket and delivers its last events.
	DeletedElsewhere
	// BucketLetGo: this replica no longer leads the names' bucket.
	BucketLetGo
	// NamespaceLeft: the names' namespace is no longer watched.
	NamespaceLeft
)

func (r Reason) String() string {
	return [...]string{"Delivered", "DeletedHere", "DeletedElsewhere", "BucketLetGo", "NamespaceLeft"}[r]
}

// Match says which streams a Forget concerns: the names Key matches, and,
// when UID is set, only that incarnation of them. one, when set, is the
// only name Key matches: Forget looks it up rather than going through
// every stream (a deletion must not cost a scan of the cache's names).
type Match struct {
	Key func(Key) bool
	UID types.UID
	one *Key
}

// Incarnation matches one incarnation of one name.
func Incarnation(key Key, uid types.UID) Match {
	return Match{Key: func(k Key) bool { return k == key }, UID: uid, one: &key}
}

// Names matches every incarnation of the names match says.
func Names(match func(Key) bool) Match { return Match{Key: match} }

func (m Match) incarnation(uid types.UID) bool { return m.UID == "" || m.UID == uid }

// Forget lets go of what the streams that match hold, as the reason says,
// and returns the incarnations whose delivered progress goes too (the
// caller forgets it in the ledger: for every reason but DeletedElsewhere,
// with the incarnation's journal entry, as nothing will send their events
// again; for DeletedElsewhere the entry stays, the bucket's leader
// removes it). Each reason drops:
//
//	reason            seen   deleted kept   live attempt   replay attempt   returns
//	Delivered         -      the match's    the match's    the match's      the match
//	DeletedHere       match  -              -              the match's      nothing
//	DeletedElsewhere  match  -              the match's    the match's      the match
//	BucketLetGo       -      all            all            all              the deleted
//	NamespaceLeft     all    all            all            all              the deleted
//
// "seen: match" clears it only if the handlers saw that incarnation last.
// A bucket let go keeps what the handlers saw: they go on seeing its
// TaskRuns. For BucketLetGo and NamespaceLeft, Forget first drops the
// deleted incarnations (so no new send of them starts: the caller has
// stopped leading, or watching, the names), then waits (within ctx) for
// the sends under way, which would put back what it drops, and then drops
// the rest (for BucketLetGo the caller has waited already, within the
// same ctx, so this one returns at once unless a send outlived that).
func (t *Table) Forget(ctx context.Context, m Match, why Reason) []types.UID {
	switch why {
	case Delivered:
		return t.forget(m, func(s *stream, key Key) []types.UID {
			dropped := t.dropDeleted(s, m)
			for _, uid := range dropped {
				// Nothing of it is sent again: a replay of it that failed
				// after its deletion let go of its attempt goes too.
				t.releaseLocked(s, attemptKey{uid, Live})
				t.releaseLocked(s, attemptKey{uid, Replay})
			}
			return dropped
		})
	case DeletedHere, DeletedElsewhere:
		return t.forget(m, func(s *stream, key Key) []types.UID {
			if m.UID != "" && s.seen == m.UID {
				s.seen, s.waiting = "", time.Time{}
			}
			t.releaseLocked(s, attemptKey{m.UID, Replay})
			if why == DeletedHere {
				return nil
			}
			t.releaseLocked(s, attemptKey{m.UID, Live})
			return []types.UID{m.UID}
		})
	}
	dropped := t.forget(m, func(s *stream, key Key) []types.UID {
		if why == NamespaceLeft {
			s.seen, s.waiting = "", time.Time{}
		}
		return t.dropDeleted(s, m)
	})
	t.Wait(ctx, m.Key)
	t.forget(m, func(s *stream, key Key) []types.UID {
		if why == NamespaceLeft {
			// A handler call still under way as the watch stopped.
			s.seen, s.waiting = "", time.Time{}
		}
		for k := range s.attempts {
			if m.incarnation(k.uid) {
				t.releaseLocked(s, k)
			}
		}
		return nil
	})
	return dropped
}

// forget applies drop to every stream that matches, under the lock, and
// tidies them.
func (t *Table) forget(m Match, drop func(*stream, Key) []types.UID) []types.UID {
	t.mu.Lock()
	defer t.mu.Unlock()
	if m.one != nil {
		s := t.byKey[*m.one]
		if s == nil {
			return nil
		}
		defer t.tidy(*m.one)
		return drop(s, *m.one)
	}
	var out []types.UID
	for key, s := range t.byKey {
		if m.Key(key) {
			out = append(out, drop(s, key)...)
			t.tidy(key)
		}
	}
	return out
}

// dropDeleted drops the deleted incarnations that match, and returns
// them. t.mu must be held.
func (t *Table) dropDeleted(s *stream, m Match) []types.UID {
	var dropped []types.UID
	kept := s.deleted[:0:0]
	for _, tr := range s.deleted {
		if m.incarnation(tr.UID) {
			dropped = append(dropped, tr.UID)
			continue
		}
		kept = append(kept, tr)
	}
	s.deleted = kept
	return dropped
}
