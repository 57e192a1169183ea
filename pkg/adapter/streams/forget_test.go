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
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/steplog"
)

// view is what a stream holds, as the tests compare it.
type view struct {
	Seen     string
	Deleted  []string
	Attempts []string
}

func (s *Table) view() map[string]view {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]view{}
	for k, st := range s.byKey {
		v := view{Seen: string(st.seen)}
		for _, tr := range st.deleted {
			v.Deleted = append(v.Deleted, string(tr.UID))
		}
		for a := range st.attempts {
			v.Attempts = append(v.Attempts, fmt.Sprintf("%s/%s", a.uid, []string{"live", "replay"}[a.lane]))
		}
		slices.Sort(v.Attempts)
		out[k.String()] = v
	}
	return out
}

// TestForget: each reason drops what its table in Forget's doc says, from
// the streams that match and no others, and returns the incarnations
// whose progress goes too; a stream left with nothing is gone.
func TestForget(t *testing.T) {
	// ci/a: live incarnation 2 (seen), deleted 1 kept; both retrying, live
	// and replayed.
	// ci/b: live incarnation 3 retrying a replay. web/c: deleted 4 kept.
	setup := func() *Table {
		s := New()
		s.Saw(run("ci", "a", "1", "1"))
		s.Keep(run("ci", "a", "1", "1"))
		s.Saw(run("ci", "a", "2", "2"))
		s.Saw(run("ci", "b", "3", "3"))
		s.Keep(run("web", "c", "4", "4"))
		log := &steplog.Log{Text: "held"}
		s.Hold(key("a"), "1", Live, Attempt{ID: "e1", Log: log})
		s.Hold(key("a"), "1", Replay, Attempt{ID: "e1", Log: log})
		s.Hold(key("a"), "2", Live, Attempt{ID: "e2", Log: log})
		s.Hold(key("a"), "2", Replay, Attempt{ID: "e2", Log: log})
		s.Hold(key("b"), "3", Replay, Attempt{ID: "e3", Log: log})
		return s
	}
	inCI := Names(func(k Key) bool { return k.Namespace == "ci" })
	untouched := map[string]view{
		"ci/a":  {Seen: "2", Deleted: []string{"1"}, Attempts: []string{"1/live", "1/replay", "2/live", "2/replay"}},
		"ci/b":  {Seen: "3", Attempts: []string{"3/replay"}},
		"web/c": {Deleted: []string{"4"}},
	}
	with := func(changes map[string]*view) map[string]view {
		out := map[string]view{}
		for k, v := range untouched {
			out[k] = v
		}
		for k, v := range changes {
			if v == nil {
				delete(out, k)
			} else {
				out[k] = *v
			}
		}
		return out
	}
	tests := []struct {
		name    string
		match   Match
		why     Reason
		want    map[string]view
		wantUID []types.UID
	}{{
		name:    "a deleted incarnation delivered: it and its attempts",
		match:   Incarnation(key("a"), "1"),
		why:     Delivered,
		want:    with(map[string]*view{"ci/a": {Seen: "2", Attempts: []string{"2/live", "2/replay"}}}),
		wantUID: []types.UID{"1"},
	}, {
		name:    "the last deleted incarnation of a name delivered: the stream goes",
		match:   Incarnation(Key{Namespace: "web", Name: "c"}, "4"),
		why:     Delivered,
		want:    with(map[string]*view{"web/c": nil}),
		wantUID: []types.UID{"4"},
	}, {
		name:  "deleted here: the handlers' record (its own) and its replay attempt; kept for its last events",
		match: Incarnation(key("a"), "2"),
		why:   DeletedHere,
		want:  with(map[string]*view{"ci/a": {Deleted: []string{"1"}, Attempts: []string{"1/live", "1/replay", "2/live"}}}),
	}, {
		name:  "deleted here after its successor was seen: the successor's record stays; its own replay attempt goes",
		match: Incarnation(key("a"), "1"),
		why:   DeletedHere,
		want:  with(map[string]*view{"ci/a": {Seen: "2", Deleted: []string{"1"}, Attempts: []string{"1/live", "2/live", "2/replay"}}}),
	}, {
		name:    "deleted in another replica's bucket: both attempts, the record, and its progress",
		match:   Incarnation(key("b"), "3"),
		why:     DeletedElsewhere,
		want:    with(map[string]*view{"ci/b": nil}),
		wantUID: []types.UID{"3"},
	}, {
		name:    "a bucket let go: deleted incarnations and every attempt; what the handlers saw stays",
		match:   inCI,
		why:     BucketLetGo,
		want:    with(map[string]*view{"ci/a": {Seen: "2"}, "ci/b": {Seen: "3"}}),
		wantUID: []types.UID{"1"},
	}, {
		name:    "a namespace left: everything of its streams",
		match:   inCI,
		why:     NamespaceLeft,
		want:    with(map[string]*view{"ci/a": nil, "ci/b": nil}),
		wantUID: []types.UID{"1"},
	}, {
		name:    "another namespace left: its deleted incarnation",
		match:   Names(func(k Key) bool { return k.Namespace == "web" }),
		why:     NamespaceLeft,
		want:    with(map[string]*view{"web/c": nil}),
		wantUID: []types.UID{"4"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := setup()
			got := s.Forget(context.Background(), tc.match, tc.why)
			if diff := cmp.Diff(tc.wantUID, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Forget(%v) returned (-want +got):\n%s", tc.why, diff)
			}
			if diff := cmp.Diff(tc.want, s.view(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("after Forget(%v) (-want +got):\n%s", tc.why, diff)
			}
			if tc.why == NamespaceLeft || tc.why == BucketLetGo {
				// Nothing of the dropped attempts is still counted.
				held := 0
				for _, v := range s.view() {
					held += len(v.Attempts) * len("held")
				}
				if s.Held() != held {
					t.Errorf("held %d bytes after Forget, want %d", s.Held(), held)
				}
			}
		})
	}
}

// TestForgetWaitsForSendsUnderWay: a bucket let go or a namespace left
// drops the deleted incarnations at once (no new send of them starts),
// and the attempts only once the sends under way ended, as such a send
// puts its attempt back when it fails.
func TestForgetWaitsForSendsUnderWay(t *testing.T) {
	for _, why := range []Reason{BucketLetGo, NamespaceLeft} {
		t.Run(why.String(), func(t *testing.T) {
			s := New()
			s.Keep(run("ci", "a", "1", "1"))
			s.Begin(key("a"))
			done := make(chan []types.UID)
			go func() { done <- s.Forget(context.Background(), Names(func(Key) bool { return true }), why) }()
			deadline := time.Now().Add(5 * time.Second)
			for len(s.Deleted(key("a"))) > 0 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if len(s.Deleted(key("a"))) > 0 {
				t.Fatal("the deleted incarnation was not dropped while a send was under way")
			}
			// The send under way fails, and puts its attempt back.
			s.Hold(key("a"), "2", Live, Attempt{ID: "e"})
			select {
			case <-done:
				t.Fatal("Forget returned while a send was under way")
			case <-time.After(20 * time.Millisecond):
			}
			s.End(key("a"))
			if got := <-done; !slices.Equal(got, []types.UID{"1"}) {
				t.Errorf("Forget returned %v, want [1]", got)
			}
			if v := s.view(); len(v) != 0 {
				t.Errorf("left after Forget: %v", v)
			}
		})
	}
}
