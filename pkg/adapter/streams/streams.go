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

// Package streams owns what the adapter holds about each TaskRun name's
// stream of events besides its delivered progress (the ledger's): the
// incarnation the watch's handlers saw last, the deleted incarnations kept
// until their last events are delivered, the attempt of the event each
// incarnation's live and replay deliveries are retrying, and the sends
// under way. One Table holds all of it under one lock, and one method,
// Forget, lets it go, for each reason the same way.
package streams

import (
	"context"
	"sync"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/delivery"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/masking"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/steplog"
)

// Key is a TaskRun's name: a stream holds the TaskRuns of one name.
type Key = types.NamespacedName

// Table is the adapter's streams. The zero value is not usable: use New.
type Table struct {
	mu    sync.Mutex
	byKey map[Key]*stream
	// held is what the attempts hold in memory (logs, and each masker
	// once, however many attempts share it); maskers counts the attempts
	// holding each masker.
	held    int
	maskers map[*masking.Masker]int
	// ended is closed, and replaced, whenever a send ends.
	ended chan struct{}
}

// stream is what the Table holds about one TaskRun name.
type stream struct {
	// seen is the incarnation the watch's handlers saw last (Saw), and
	// waiting since when a delivery waits for them to see another (Behind).
	seen    types.UID
	waiting time.Time
	// deleted are the deleted incarnations kept for their last events,
	// oldest first.
	deleted []*pipelinev1.TaskRun
	// attempts are the events being retried, one per incarnation and lane.
	attempts map[attemptKey]Attempt
	// sending counts the sends under way.
	sending int
}

func (s *stream) empty() bool {
	return s.seen == "" && len(s.deleted) == 0 && len(s.attempts) == 0 && s.sending == 0
}

// Lane tells an incarnation's live events from its replayed ones: each
// retries its own next event.
type Lane int

const (
	Live Lane = iota
	Replay
)

type attemptKey struct {
	uid  types.UID
	lane Lane
}

// Attempt is the state of an event whose delivery is retried, so that its
// retries send the same event: the log read for its first attempt (a log
// read later may be cut differently: Kubernetes rotates and truncates
// container logs), the masker of that attempt's Secret values (or why it
// has none: Withheld), and where its delivery stands.
type Attempt struct {
	// ID is the event's; an attempt of another event is none.
	ID       string
	Log      *steplog.Log
	Masker   *masking.Masker
	Withheld error
	delivery.Fate
}

// MaxHeldBytes bounds what the attempts of all streams hold in memory: a
// sink outage holds one attempt per TaskRun, each with its log and its
// Secrets' masker. Past it an attempt keeps neither (its retry reads them
// again) rather than the adapter growing without bound.
const MaxHeldBytes = 64 << 20

// New is an empty Table.
func New() *Table {
	return &Table{byKey: map[Key]*stream{}, maskers: map[*masking.Masker]int{}, ended: make(chan struct{})}
}

// at is the key's stream, created when missing. t.mu must be held.
func (t *Table) at(key Key) *stream {
	s := t.byKey[key]
	if s == nil {
		s = &stream{}
		t.byKey[key] = s
	}
	return s
}

// tidy drops the key's stream once it holds nothing. t.mu must be held.
func (t *Table) tidy(key Key) {
	if s := t.byKey[key]; s != nil && s.empty() {
		delete(t.byKey, key)
	}
}

func keyOf(tr *pipelinev1.TaskRun) Key { return Key{Namespace: tr.Namespace, Name: tr.Name} }

// Saw records that the watch's handlers saw the TaskRun (only they call
// it: a promotion's queueing of the cache may be ahead of them).
func (t *Table) Saw(tr *pipelinev1.TaskRun) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.at(keyOf(tr))
	s.seen, s.waiting = tr.UID, time.Time{}
}

// HandlerLag is how long a delivery that waits for the handlers (Behind)
// waits before it looks again; HandlerLagLimit, how long it waits at most
// for one name: the handlers may never see a TaskRun the cache has (a
// watch ended under them), and past it the delivery goes on.
const (
	HandlerLag      = 50 * time.Millisecond
	HandlerLagLimit = 30 * time.Second
)

// Behind reports whether the handlers saw another incarnation of the name
// last than uid, the one the cache holds: they may be about to keep that
// one as deleted, and its events go first. Past HandlerLagLimit of such
// answers for a name it no longer waits.
func (t *Table) Behind(key Key, uid types.UID) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.byKey[key]
	if s == nil || s.seen == "" || s.seen == uid {
		return false
	}
	if s.waiting.IsZero() {
		s.waiting = time.Now()
	}
	return time.Since(s.waiting) < HandlerLagLimit
}

// Keep keeps a deleted TaskRun for its last events; a later state of one
// kept replaces the earlier.
func (t *Table) Keep(tr *pipelinev1.TaskRun) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.at(keyOf(tr))
	for i, kept := range s.deleted {
		if kept.UID == tr.UID {
			s.deleted[i] = tr
			return
		}
	}
	s.deleted = append(s.deleted, tr)
}

// Deleted are the deleted incarnations of the name kept, oldest first.
func (t *Table) Deleted(key Key) []*pipelinev1.TaskRun {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.byKey[key]; s != nil {
		return append([]*pipelinev1.TaskRun(nil), s.deleted...)
	}
	return nil
}

// DeletedKeys are the names with deleted incarnations kept that match.
func (t *Table) DeletedKeys(match func(Key) bool) []Key {
	t.mu.Lock()
	defer t.mu.Unlock()
	var keys []Key
	for key, s := range t.byKey {
		if len(s.deleted) > 0 && match(key) {
			keys = append(keys, key)
		}
	}
	return keys
}

// Attempt is the incarnation's attempt in the lane, if it is the event's.
func (t *Table) Attempt(key Key, uid types.UID, lane Lane, id string) (Attempt, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.byKey[key]; s != nil {
		if a, ok := s.attempts[attemptKey{uid, lane}]; ok && a.ID == id {
			return a, true
		}
	}
	return Attempt{}, false
}

// Hold keeps the attempt (replacing the lane's previous one) for the
// event's next try. Within MaxHeldBytes: an attempt that would hold more
// is kept without its masker (and so without its log, which needs it), or
// without its log.
func (t *Table) Hold(key Key, uid types.UID, lane Lane, a Attempt) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.at(key)
	t.releaseLocked(s, attemptKey{uid, lane})
	if a.Masker != nil && t.maskers[a.Masker] == 0 && t.held+a.Masker.Size() > MaxHeldBytes {
		a.Masker, a.Withheld, a.Log = nil, nil, nil
	}
	if a.Log != nil && t.held+len(a.Log.Text) > MaxHeldBytes {
		a.Log = nil
	}
	if a.Masker != nil {
		if t.maskers[a.Masker] == 0 {
			t.held += a.Masker.Size()
		}
		t.maskers[a.Masker]++
	}
	if a.Log != nil {
		t.held += len(a.Log.Text)
	}
	if s.attempts == nil {
		s.attempts = map[attemptKey]Attempt{}
	}
	s.attempts[attemptKey{uid, lane}] = a
}

// Release lets the incarnation's attempt in the lane go: its event is
// done.
func (t *Table) Release(key Key, uid types.UID, lane Lane) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.byKey[key]; s != nil {
		t.releaseLocked(s, attemptKey{uid, lane})
		t.tidy(key)
	}
}

// releaseLocked drops an attempt and what it holds. t.mu must be held.
func (t *Table) releaseLocked(s *stream, k attemptKey) {
	a, ok := s.attempts[k]
	if !ok {
		return
	}
	if a.Log != nil {
		t.held -= len(a.Log.Text)
	}
	if a.Masker != nil {
		if t.maskers[a.Masker]--; t.maskers[a.Masker] == 0 {
			delete(t.maskers, a.Masker)
			t.held -= a.Masker.Size()
		}
	}
	delete(s.attempts, k)
}

// Held is what the attempts hold in memory, in bytes.
func (t *Table) Held() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.held
}

// Begin counts a send of the name as under way; End, every way out of it
// (a panic's too), as ended.
func (t *Table) Begin(key Key) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.at(key).sending++
}

// End: see Begin.
func (t *Table) End(key Key) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.byKey[key]; s != nil && s.sending > 0 {
		s.sending--
		t.tidy(key)
	}
	close(t.ended)
	t.ended = make(chan struct{})
}

// Wait waits until no send of the names that match is under way, or ctx
// is done (false).
func (t *Table) Wait(ctx context.Context, match func(Key) bool) bool {
	for {
		t.mu.Lock()
		busy := false
		for key, s := range t.byKey {
			if s.sending > 0 && match(key) {
				busy = true
				break
			}
		}
		ended := t.ended
		t.mu.Unlock()
		if !busy {
			return true
		}
		select {
		case <-ended:
		case <-ctx.Done():
			return false
		}
	}
}
