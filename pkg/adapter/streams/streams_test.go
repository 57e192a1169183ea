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
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/masking"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/steplog"
)

func run(ns, name, uid, version string) *pipelinev1.TaskRun {
	return &pipelinev1.TaskRun{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(uid), ResourceVersion: version}}
}

func key(name string) Key { return Key{Namespace: "ci", Name: name} }

func versions(runs []*pipelinev1.TaskRun) []string {
	var out []string
	for _, tr := range runs {
		out = append(out, string(tr.UID)+"@"+tr.ResourceVersion)
	}
	return out
}

// TestDeleted: deleted incarnations are kept, oldest first, a later state
// replacing an earlier one, until their delivery forgets them.
func TestDeleted(t *testing.T) {
	tests := []struct {
		name string
		do   func(s *Table)
		want map[string][]string
	}{{
		name: "kept until delivered",
		do: func(s *Table) {
			s.Keep(run("ci", "a", "1", "5"))
			s.Keep(run("ci", "b", "2", "6"))
			s.Forget(context.Background(), Incarnation(key("b"), "2"), Delivered)
		},
		want: map[string][]string{"a": {"1@5"}},
	}, {
		name: "a name deleted thrice: all, oldest first, each delivered on its own",
		do: func(s *Table) {
			s.Keep(run("ci", "a", "1", "5"))
			s.Keep(run("ci", "a", "2", "9"))
			s.Keep(run("ci", "a", "3", "12"))
			s.Forget(context.Background(), Incarnation(key("a"), "2"), Delivered)
		},
		want: map[string][]string{"a": {"1@5", "3@12"}},
	}, {
		name: "the same TaskRun again: its later state replaces the earlier",
		do: func(s *Table) {
			s.Keep(run("ci", "a", "1", "5"))
			s.Keep(run("ci", "a", "1", "7"))
		},
		want: map[string][]string{"a": {"1@7"}},
	}, {
		name: "delivered for an unknown TaskRun changes nothing",
		do: func(s *Table) {
			s.Keep(run("ci", "a", "1", "5"))
			s.Forget(context.Background(), Incarnation(key("a"), "9"), Delivered)
			s.Forget(context.Background(), Incarnation(key("z"), "1"), Delivered)
		},
		want: map[string][]string{"a": {"1@5"}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			tc.do(s)
			got := map[string][]string{}
			for _, k := range s.DeletedKeys(func(Key) bool { return true }) {
				got[k.Name] = versions(s.Deleted(k))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("deleted (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBehind: a delivery waits while the cache holds another TaskRun of
// the name than the handlers last saw, and not once they saw it or the
// deleted one's deletion.
func TestBehind(t *testing.T) {
	tests := []struct {
		name string
		do   func(s *Table)
		// behind: for the cache's TaskRun "2" of ci/a.
		behind bool
	}{{
		name: "nothing seen of the name",
		do:   func(*Table) {},
	}, {
		name:   "the deleted one seen, its deletion not yet",
		do:     func(s *Table) { s.Saw(run("ci", "a", "1", "5")) },
		behind: true,
	}, {
		name: "the deleted one's deletion seen",
		do: func(s *Table) {
			s.Saw(run("ci", "a", "1", "5"))
			s.Keep(run("ci", "a", "1", "5"))
			s.Forget(context.Background(), Incarnation(key("a"), "1"), DeletedHere)
		},
	}, {
		name: "the deleted one's deletion seen, another replica's bucket",
		do: func(s *Table) {
			s.Saw(run("ci", "a", "1", "5"))
			s.Forget(context.Background(), Incarnation(key("a"), "1"), DeletedElsewhere)
		},
	}, {
		name: "the successor seen",
		do: func(s *Table) {
			s.Saw(run("ci", "a", "1", "5"))
			s.Saw(run("ci", "a", "2", "9"))
		},
	}, {
		name: "the deletion of the deleted one after its successor was seen",
		do: func(s *Table) {
			s.Saw(run("ci", "a", "2", "9"))
			s.Forget(context.Background(), Incarnation(key("a"), "1"), DeletedHere)
		},
	}, {
		name: "waited for the handlers long enough: no more (a watch that ended)",
		do: func(s *Table) {
			s.Saw(run("ci", "a", "1", "5"))
			s.byKey[key("a")].waiting = time.Now().Add(-HandlerLagLimit)
		},
	}, {
		name: "a TaskRun seen long ago still waits for its successor's handler",
		do: func(s *Table) {
			s.Saw(run("ci", "a", "1", "5"))
			s.Behind(key("a"), "2")
		},
		behind: true,
	}, {
		name: "its namespace no longer watched",
		do: func(s *Table) {
			s.Saw(run("ci", "a", "1", "5"))
			s.Forget(context.Background(), Names(func(k Key) bool { return k.Namespace == "ci" }), NamespaceLeft)
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			tc.do(s)
			if got := s.Behind(key("a"), "2"); got != tc.behind {
				t.Errorf("Behind = %v, want %v", got, tc.behind)
			}
		})
	}
}

// TestWait: a hand-over waits for the sends under way of the names it
// concerns, and only those, within its context.
func TestWait(t *testing.T) {
	a, b := key("a"), key("b")
	only := func(k Key) func(Key) bool { return func(x Key) bool { return x == k } }
	tests := []struct {
		name string
		// begun are the sends under way; ended those that end while Wait
		// waits.
		begun, ended []Key
		match        func(Key) bool
		want         bool
	}{
		{name: "nothing under way", match: only(a), want: true},
		{name: "only other TaskRuns' under way", begun: []Key{b}, match: only(a), want: true},
		{name: "one under way that ends", begun: []Key{a, b}, ended: []Key{a}, match: only(a), want: true},
		{name: "two of one TaskRun, both end", begun: []Key{a, a}, ended: []Key{a, a}, match: only(a), want: true},
		{name: "two of one TaskRun, one ends", begun: []Key{a, a}, ended: []Key{a}, match: only(a), want: false},
		{name: "one under way that does not end", begun: []Key{a}, ended: []Key{b}, match: only(a), want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			for _, k := range tc.begun {
				s.Begin(k)
			}
			go func() {
				for _, k := range tc.ended {
					time.Sleep(10 * time.Millisecond)
					s.End(k)
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			if got := s.Wait(ctx, tc.match); got != tc.want {
				t.Errorf("Wait = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestHeldBounded: the held logs never take more than MaxHeldBytes; one
// that does not fit is read again on its retry, while its attempt
// (failures, wait) is kept.
func TestHeldBounded(t *testing.T) {
	s := New()
	big := &steplog.Log{Text: string(make([]byte, MaxHeldBytes/2+1))}
	first := Attempt{ID: "id-1", Log: big}
	first.Failures = 1
	second := Attempt{ID: "id-2", Log: big}
	second.Failures = 2
	s.Hold(key("a"), "1", Live, first)
	s.Hold(key("b"), "2", Live, second)
	if a, ok := s.Attempt(key("a"), "1", Live, "id-1"); !ok || a.Log == nil {
		t.Error("the first log was not held")
	}
	if a, ok := s.Attempt(key("b"), "2", Live, "id-2"); !ok || a.Log != nil || a.Failures != 2 || s.Held() > MaxHeldBytes {
		t.Errorf("held %d bytes, over %d (second: %+v, %v)", s.Held(), MaxHeldBytes, a, ok)
	}
	if _, ok := s.Attempt(key("a"), "1", Live, "id-other"); ok {
		t.Error("an attempt was returned for another event of the TaskRun")
	}
	if _, ok := s.Attempt(key("a"), "1", Replay, "id-1"); ok {
		t.Error("the live lane's attempt was returned for the replay lane")
	}
	s.Release(key("a"), "1", Live)
	s.Release(key("a"), "1", Live)
	if s.Held() != 0 {
		t.Errorf("after release: %d bytes held", s.Held())
	}
	s.Hold(key("b"), "2", Live, Attempt{ID: "id-2", Log: big})
	if a, ok := s.Attempt(key("b"), "2", Live, "id-2"); !ok || a.Log == nil {
		t.Error("with room again, the log was not held")
	}
}

// TestHeldMaskers: a masker counts in the held memory once, while any
// attempt holds it; past MaxHeldBytes an attempt holds neither a masker
// that is not held already nor its log (its retry builds the masker and
// reads the log again, so a Secret that can no longer be read withholds
// the log), while a masker held already costs nothing more.
func TestHeldMaskers(t *testing.T) {
	patterns, err := masking.Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	shared := masking.New(patterns, [][]byte{[]byte("shared-s3cret")})
	other := masking.New(patterns, [][]byte{[]byte("other-s3cret-value")})
	log := &steplog.Log{Text: "fake logs"}
	sz, o, l := shared.Size(), other.Size(), len(log.Text)
	s := New()
	steps := []struct {
		name string
		// run holds the masker and log, or releases its attempt (release).
		run     string
		masker  *masking.Masker
		log     *steplog.Log
		release bool
		// elsewhere is memory the step finds held by attempts of others.
		elsewhere  int
		wantMasker bool
		wantLog    bool
		wantBytes  int
	}{
		{name: "a first masker and log", run: "a", masker: shared, log: log, wantMasker: true, wantLog: true, wantBytes: sz + l},
		{name: "the same masker, shared", run: "b", masker: shared, log: log, wantMasker: true, wantLog: true, wantBytes: sz + 2*l},
		{name: "another masker", run: "c", masker: other, wantMasker: true, wantBytes: sz + o + 2*l},
		{name: "the same run again: counted once", run: "c", masker: other, wantMasker: true, wantBytes: sz + o + 2*l},
		{name: "one of the sharers released", run: "a", release: true, wantBytes: sz + o + l},
		{name: "the last sharer released", run: "b", release: true, wantBytes: o},
		{name: "past the bound, a held masker costs nothing", run: "d", masker: other, elsewhere: MaxHeldBytes - o,
			wantMasker: true, wantBytes: MaxHeldBytes},
		{name: "past the bound, a new masker is not held, nor its log", run: "e", masker: shared, log: log, wantBytes: MaxHeldBytes},
		{name: "all released", run: "c", release: true, elsewhere: -(MaxHeldBytes - o), wantBytes: o},
		{name: "the masker goes with its last holder", run: "d", release: true, wantBytes: 0},
	}
	for _, step := range steps {
		k, uid := key(step.run), types.UID(step.run)
		s.mu.Lock()
		s.held += step.elsewhere
		s.mu.Unlock()
		if step.release {
			s.Release(k, uid, Live)
		} else {
			s.Hold(k, uid, Live, Attempt{ID: step.run, Masker: step.masker, Log: step.log, Withheld: errors.New("kept with its masker")})
			a, _ := s.Attempt(k, uid, Live, step.run)
			if (a.Masker != nil) != step.wantMasker || (a.Withheld != nil) != step.wantMasker || (a.Log != nil) != step.wantLog {
				t.Errorf("%s: held masker %v, withheld %v, log %v; want masker %v, log %v",
					step.name, a.Masker != nil, a.Withheld, a.Log != nil, step.wantMasker, step.wantLog)
			}
		}
		if s.Held() != step.wantBytes {
			t.Errorf("%s: %d bytes held, want %d", step.name, s.Held(), step.wantBytes)
		}
	}
}
