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
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
)

// Table tests of the checkpoint placement policy (ledger.go), without an
// apiserver: recorder_test.go and test/integration test the writes.

var (
	t0       = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	interval = time.Second
)

// prog is the progress of the attempt after the given steps: "x" started
// step x, "x." finished it.
func prog(attempt int, steps ...string) *checkpoint.Progress {
	p := &checkpoint.Progress{Attempt: attempt}
	for _, s := range steps {
		kind := transitions.Started
		if name, done := strings.CutSuffix(s, "."); done {
			s, kind = name, transitions.Succeeded
		}
		p.Record(transitions.Transition{Attempt: attempt, Kind: kind, StepState: pipelinev1.StepState{Name: s}})
	}
	return p
}

func keyOf(name string) types.NamespacedName {
	return types.NamespacedName{Namespace: "ci", Name: name}
}

// run is the ledger state of one TaskRun in a test: UID and name are
// its name.
type run struct {
	name                        string
	delivered, saved, journaled *checkpoint.Progress
	finished, witnessed         bool
	savedAgo                    time.Duration
	pending                     bool
	entrySize                   int
}

// ledgerWith builds a ledger of the given journal budget holding runs, at t0.
func ledgerWith(journalMax int, runs ...run) *ledger {
	l := newLedger(interval, journalMax, 1)
	for _, r := range runs {
		uid := types.UID(r.name)
		if r.delivered != nil {
			saved := r.saved
			if saved == nil {
				saved = &checkpoint.Progress{}
			}
			l.runs[uid] = &runState{key: keyOf(r.name), delivered: r.delivered, saved: saved,
				savedAt: t0.Add(-r.savedAgo), journaled: r.journaled, finished: r.finished, witnessed: r.witnessed}
		}
		if r.pending {
			l.journalPending[uid] = struct{}{}
		}
		if r.entrySize > 0 {
			l.setJournalSize(uid, r.entrySize)
		}
	}
	return l
}

func pendingOf(l *ledger) []string {
	var names []string
	for uid := range l.journalPending {
		names = append(names, string(uid))
	}
	sort.Strings(names)
	return names
}

func TestLedgerSchedule(t *testing.T) {
	tests := []struct {
		name      string
		run       run
		budget    int // journal bytes already used by other TaskRuns
		finished  bool
		annotated *checkpoint.Progress
		want      placement
		// wantPending: the TaskRun's journal entry is to be written.
		wantPending bool
	}{{
		name: "unknown TaskRun: nothing to record",
		run:  run{name: "other"},
		want: placement{},
	}, {
		name:        "running, journal has room: to the journal",
		run:         run{name: "tr", delivered: prog(0, "a")},
		want:        placement{where: toJournal},
		wantPending: true,
	}, {
		name: "running, the journal entry covers it: nothing",
		run:  run{name: "tr", delivered: prog(0, "a"), journaled: prog(0, "a")},
		want: placement{},
	}, {
		name: "running, the annotation this process wrote covers it: nothing",
		run:  run{name: "tr", delivered: prog(0, "a."), saved: prog(0, "a.")},
		want: placement{},
	}, {
		name:        "running, journal full but the TaskRun already has an entry: keeps its place",
		run:         run{name: "tr", delivered: prog(0, "a."), journaled: prog(0, "a")},
		budget:      100,
		want:        placement{where: toJournal},
		wantPending: true,
	}, {
		name:   "running, journal full: to the annotation once the interval since the last write is over",
		run:    run{name: "tr", delivered: prog(0, "a"), savedAgo: 300 * time.Millisecond},
		budget: 100,
		want:   placement{where: toAnnotation, after: 700 * time.Millisecond},
	}, {
		name:   "running, journal full, interval over: to the annotation now",
		run:    run{name: "tr", delivered: prog(0, "a"), savedAgo: 2 * time.Second},
		budget: 100,
		want:   placement{where: toAnnotation},
	}, {
		name:      "running, journal full, the TaskRun's annotation already covers it (another replica wrote it): nothing",
		run:       run{name: "tr", delivered: prog(0, "a")},
		budget:    100,
		annotated: prog(0, "a."),
		want:      placement{},
	}, {
		name:     "finished attempt: to the annotation at once, even if journaled",
		run:      run{name: "tr", delivered: prog(0, "a.", "b."), journaled: prog(0, "a.", "b."), savedAgo: 0},
		finished: true,
		want:     placement{where: toAnnotation},
	}, {
		name:     "finished attempt already annotated by this process: nothing",
		run:      run{name: "tr", delivered: prog(0, "a.", "b."), saved: prog(0, "a.", "b.")},
		finished: true,
		want:     placement{},
	}, {
		name:      "finished attempt whose annotation covers it: nothing",
		run:       run{name: "tr", delivered: prog(0, "a.")},
		finished:  true,
		annotated: prog(0, "a."),
		want:      placement{},
	}, {
		name:        "retry: a new attempt is not covered by the previous attempt's annotation",
		run:         run{name: "tr", delivered: prog(1, "a"), saved: prog(0, "a.", "b.")},
		want:        placement{where: toJournal},
		wantPending: true,
	}, {
		name:      "retry: an annotation of a later attempt covers an earlier one",
		run:       run{name: "tr", delivered: prog(0, "a.")},
		finished:  true,
		annotated: prog(1),
		want:      placement{},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := ledgerWith(100, tc.run, run{name: "filler", entrySize: tc.budget})
			got := l.schedule("tr", tc.finished, tc.annotated, t0)
			if got != tc.want {
				t.Errorf("schedule = %+v, want %+v", got, tc.want)
			}
			if _, pending := l.journalPending["tr"]; pending != tc.wantPending {
				t.Errorf("journal entry pending = %v, want %v", pending, tc.wantPending)
			}
			if st := l.runs["tr"]; st != nil && st.finished != tc.finished {
				t.Errorf("finished = %v, want %v", st.finished, tc.finished)
			}
		})
	}
}

func TestLedgerProgress(t *testing.T) {
	tests := []struct {
		name          string
		run           run
		durable       *checkpoint.Progress
		want          *checkpoint.Progress
		wantWitnessed bool
	}{{
		name:    "unknown TaskRun: its annotation",
		run:     run{name: "other"},
		durable: prog(0, "a."),
		want:    prog(0, "a."),
	}, {
		name:          "this process delivered further than the annotation says",
		run:           run{name: "tr", delivered: prog(0, "a.", "b"), witnessed: true},
		durable:       prog(0, "a."),
		want:          prog(0, "a.", "b"),
		wantWitnessed: true,
	}, {
		name:    "further than the annotation, as read from the journal",
		run:     run{name: "tr", delivered: prog(0, "a.", "b")},
		durable: prog(0, "a."),
		want:    prog(0, "a.", "b"),
	}, {
		name:    "the annotation is further (written by the bucket's previous leader)",
		run:     run{name: "tr", delivered: prog(0, "a"), witnessed: true},
		durable: prog(1, "a"),
		want:    prog(1, "a"),
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := ledgerWith(100, tc.run)
			got, witnessed := l.progress("tr", tc.durable)
			if !got.Covers(tc.want) || !tc.want.Covers(got) || witnessed != tc.wantWitnessed {
				t.Errorf("progress = %v, witnessed %v; want %v, %v", got, witnessed, tc.want, tc.wantWitnessed)
			}
			if st := l.runs["tr"]; st != nil && got == st.delivered {
				t.Error("progress returned the ledger's own record, not a copy")
			}
		})
	}
}

func TestLedgerDelivered(t *testing.T) {
	l := newLedger(interval, 100, 1)
	l.delivered("tr", keyOf("tr"), prog(0, "a"), t0)
	later := t0.Add(5 * time.Second)
	l.delivered("tr", keyOf("tr"), prog(0, "a."), later)
	st := l.runs["tr"]
	// The interval counts from the first delivery, so a running TaskRun's
	// first event does not cost a write of its own.
	if !st.savedAt.Equal(t0) || !st.delivered.Covers(prog(0, "a.")) || st.saved.Covers(st.delivered) || !st.witnessed {
		t.Errorf("after two deliveries: savedAt %v, delivered %v, saved %v, witnessed %v", st.savedAt, st.delivered, st.saved, st.witnessed)
	}
}

func TestLedgerAnnotationWrite(t *testing.T) {
	tests := []struct {
		name        string
		run         run
		journalUsed int
		wantClaim   bool
		outcome     writeOutcome
		// wantKick: the journal writer is to remove the entry the
		// annotation made obsolete, or to take what it refused.
		wantKick     bool
		wantRecorded bool
		// wantNext is where schedule sends the progress afterwards.
		wantNext store
	}{{
		name: "deleted TaskRun: no write",
		run:  run{name: "other"},
	}, {
		name: "what this process wrote already covers it: no write",
		run:  run{name: "tr", delivered: prog(0, "a."), saved: prog(0, "a.")},
	}, {
		name:         "written, no journal entry",
		run:          run{name: "tr", delivered: prog(0, "a."), finished: true},
		wantClaim:    true,
		outcome:      written,
		wantRecorded: true,
	}, {
		name:         "written, the journal entry it covers is to be removed",
		run:          run{name: "tr", delivered: prog(0, "a."), journaled: prog(0, "a"), finished: true},
		wantClaim:    true,
		outcome:      written,
		wantKick:     true,
		wantRecorded: true,
	}, {
		name:      "write failed: still to be recorded, nothing changes, retried",
		run:       run{name: "tr", delivered: prog(0, "a."), journaled: prog(0, "a"), finished: true},
		wantClaim: true,
		outcome:   notWritten,
		wantNext:  toAnnotation,
	}, {
		name:      "refused (annotations too large): the finished attempt goes to the journal",
		run:       run{name: "tr", delivered: prog(0, "a."), journaled: prog(0, "a"), finished: true},
		wantClaim: true,
		outcome:   refused,
		wantKick:  true,
		wantNext:  toJournal,
	}, {
		name:        "refused, and the journal is full: recorded nowhere, never retried",
		run:         run{name: "tr", delivered: prog(0, "a."), finished: true},
		journalUsed: 100,
		wantClaim:   true,
		outcome:     refused,
		wantNext:    nowhere,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := ledgerWith(100, tc.run, run{name: "filler", entrySize: tc.journalUsed})
			w, ok := l.beginAnnotation("tr")
			if ok != tc.wantClaim {
				t.Fatalf("beginAnnotation = %v, want %v", ok, tc.wantClaim)
			}
			if !ok {
				return
			}
			if w.key != keyOf("tr") || !w.progress.Covers(tc.run.delivered) || !tc.run.delivered.Covers(w.progress) {
				t.Errorf("claimed %v %v, want ci/tr %v", w.key, w.progress, tc.run.delivered)
			}
			later := t0.Add(time.Minute)
			if kick := l.endAnnotation(w, tc.outcome, later); kick != tc.wantKick {
				t.Errorf("endAnnotation kick = %v, want %v", kick, tc.wantKick)
			}
			st := l.runs["tr"]
			if st.recorded() != tc.wantRecorded {
				t.Errorf("recorded = %v, want %v", st.recorded(), tc.wantRecorded)
			}
			if (tc.outcome == written) != st.savedAt.Equal(later) {
				t.Errorf("savedAt = %v after outcome %v", st.savedAt, tc.outcome)
			}
			if r := l.schedule("tr", true, nil, later); !tc.wantRecorded && r.where != tc.wantNext {
				t.Errorf("afterwards, schedule = %+v, want %v", r, tc.wantNext)
			}
			// The claim was released: the next one does not wait.
			st.delivered = prog(1)
			done := make(chan struct{})
			go func() {
				defer close(done)
				if w, ok := l.beginAnnotation("tr"); ok {
					l.endAnnotation(w, written, later)
				}
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the claim was not released")
			}
		})
	}
}

// TestLedgerAnnotationClaimsSerialised: a second claim on a TaskRun waits
// for the first to end, and then writes what is delivered by then, so an
// older progress never lands after a newer one.
func TestLedgerAnnotationClaimsSerialised(t *testing.T) {
	l := ledgerWith(100, run{name: "tr", delivered: prog(0, "a")})
	first, ok := l.beginAnnotation("tr")
	if !ok {
		t.Fatal("no first claim")
	}
	l.delivered("tr", keyOf("tr"), prog(0, "a."), t0)
	second := make(chan annotationWrite)
	go func() {
		w, ok := l.beginAnnotation("tr")
		if !ok {
			close(second)
			return
		}
		second <- w
	}()
	select {
	case <-second:
		t.Fatal("a second claim did not wait for the first")
	case <-time.After(100 * time.Millisecond):
	}
	l.endAnnotation(first, written, t0)
	w, ok := <-second
	if !ok || !w.progress.Covers(prog(0, "a.")) {
		t.Fatalf("second claim = %v %v, want the newer progress", w.progress, ok)
	}
	l.endAnnotation(w, written, t0)
}

func TestLedgerJournalBatch(t *testing.T) {
	all := func(types.NamespacedName) bool { return true }
	only := func(names ...string) func(types.NamespacedName) bool {
		return func(k types.NamespacedName) bool {
			for _, n := range names {
				if k.Name == n {
					return true
				}
			}
			return false
		}
	}
	tests := []struct {
		name        string
		runs        []run
		match, owns func(types.NamespacedName) bool
		wantSet     []string
		wantRemove  []string
		wantPending []string
	}{{
		name:    "a running TaskRun's progress is written",
		runs:    []run{{name: "tr", delivered: prog(0, "a"), pending: true}},
		wantSet: []string{"tr"},
	}, {
		name: "nothing pending: an empty batch",
		runs: []run{{name: "tr", delivered: prog(0, "a")}},
	}, {
		name: "already journaled: nothing to write",
		runs: []run{{name: "tr", delivered: prog(0, "a"), journaled: prog(0, "a"), pending: true}},
	}, {
		name:       "annotated since: the entry is removed",
		runs:       []run{{name: "tr", delivered: prog(0, "a."), saved: prog(0, "a."), journaled: prog(0, "a"), pending: true}},
		wantRemove: []string{"tr"},
	}, {
		name: "annotated, never journaled: nothing",
		runs: []run{{name: "tr", delivered: prog(0, "a."), saved: prog(0, "a."), pending: true}},
	}, {
		name:       "deleted with an entry: the entry is removed",
		runs:       []run{{name: "tr", pending: true, entrySize: 30}},
		wantRemove: []string{"tr"},
	}, {
		name: "deleted without an entry: nothing",
		runs: []run{{name: "tr", pending: true}},
	}, {
		name: "bucket moved away: left to its new leader",
		runs: []run{
			{name: "mine", delivered: prog(0, "a"), pending: true},
			{name: "moved", delivered: prog(0, "a"), pending: true},
		},
		match:   only("mine"),
		owns:    only("mine"),
		wantSet: []string{"mine"},
	}, {
		name: "demotion flush of one bucket: the other bucket's entries stay pending",
		runs: []run{
			{name: "leaving", delivered: prog(0, "a"), pending: true},
			{name: "staying", delivered: prog(0, "a"), pending: true},
		},
		match:       only("leaving"),
		owns:        only("staying"),
		wantSet:     []string{"leaving"},
		wantPending: []string{"staying"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.match == nil {
				tc.match, tc.owns = all, all
			}
			l := ledgerWith(1000, tc.runs...)
			b, err := l.takeJournalBatch(tc.match, tc.owns)
			if err != nil {
				t.Fatal(err)
			}
			var set, remove []string
			for uid, value := range b.set {
				set = append(set, string(uid))
				want, _ := checkpoint.EncodeEntry(checkpoint.Entry{TaskRun: keyOf(string(uid)), Progress: l.runs[uid].delivered})
				if value != want {
					t.Errorf("entry %s = %s, want %s", uid, value, want)
				}
			}
			for _, uid := range b.remove {
				remove = append(remove, string(uid))
			}
			sort.Strings(set)
			if diff := cmp.Diff(tc.wantSet, set); diff != "" {
				t.Errorf("set (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantRemove, remove); diff != "" {
				t.Errorf("remove (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantPending, pendingOf(l)); diff != "" {
				t.Errorf("still pending (-want +got):\n%s", diff)
			}
			if b.empty() != (len(tc.wantSet)+len(tc.wantRemove) == 0) {
				t.Errorf("empty = %v", b.empty())
			}
		})
	}
}

// entryOf is the size of the journal entry of TaskRun name at prog(0, "a").
func entryOf(name string) int {
	return len(name) + len(`{"t":"ci/`+name+`","a":0,"s":{"a":1}}`)
}

func TestLedgerJournalWritten(t *testing.T) {
	tests := []struct {
		name string
		runs []run
		// meanwhile happens while the write is on its way.
		meanwhile func(l *ledger)
		outcome   writeOutcome
		// total is the journal's size the apiserver answered with.
		total        int
		wantAgain    bool
		wantOverflow []string
		wantPending  []string
		wantSizes    map[types.UID]int
		wantBytes    int
		wantEntry    bool
	}{{
		name:      "written: the journal's size is what the apiserver answered (other replicas' entries too)",
		runs:      []run{{name: "tr", delivered: prog(0, "a"), pending: true}, {name: "gone", pending: true, entrySize: 20}},
		outcome:   written,
		total:     entryOf("tr") + 300,
		wantSizes: map[types.UID]int{"tr": entryOf("tr")},
		wantBytes: entryOf("tr") + 300,
		wantEntry: true,
	}, {
		name:        "failed: everything is pending again, nothing changed",
		runs:        []run{{name: "tr", delivered: prog(0, "a"), pending: true}, {name: "gone", pending: true, entrySize: 20}},
		outcome:     notWritten,
		wantPending: []string{"gone", "tr"},
		wantSizes:   map[types.UID]int{"gone": 20},
		wantBytes:   20,
	}, {
		name: "refused as too large: new entries overflow to their annotations, updates and removals pending again, the journal counts as full",
		runs: []run{
			{name: "tr", delivered: prog(0, "a"), pending: true},
			{name: "known", delivered: prog(0, "a."), journaled: prog(0, "a"), pending: true, entrySize: 40},
			{name: "gone", pending: true, entrySize: 20},
		},
		outcome:      refused,
		wantOverflow: []string{"tr"},
		wantPending:  []string{"gone", "known"},
		wantSizes:    map[types.UID]int{"gone": 20, "known": 40},
		wantBytes:    1000,
	}, {
		name:        "annotated while on its way: removed by the next write",
		runs:        []run{{name: "tr", delivered: prog(0, "a"), pending: true}},
		meanwhile:   func(l *ledger) { l.runs["tr"].saved = prog(0, "a.") },
		outcome:     written,
		total:       entryOf("tr"),
		wantAgain:   true,
		wantPending: []string{"tr"},
		wantSizes:   map[types.UID]int{"tr": entryOf("tr")},
		wantBytes:   entryOf("tr"),
		wantEntry:   true,
	}, {
		name:        "deleted while on its way: removed by the next write",
		runs:        []run{{name: "tr", delivered: prog(0, "a"), pending: true}},
		meanwhile:   func(l *ledger) { l.forget("tr") },
		outcome:     written,
		total:       entryOf("tr"),
		wantAgain:   true,
		wantPending: []string{"tr"},
		wantSizes:   map[types.UID]int{"tr": entryOf("tr")},
		wantBytes:   entryOf("tr"),
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := ledgerWith(1000, tc.runs...)
			b, err := l.takeJournalBatch(func(types.NamespacedName) bool { return true }, func(types.NamespacedName) bool { return true })
			if err != nil {
				t.Fatal(err)
			}
			if tc.meanwhile != nil {
				tc.meanwhile(l)
			}
			again, overflow := l.journalWritten(b, tc.outcome, tc.total)
			if again != tc.wantAgain {
				t.Errorf("again = %v, want %v", again, tc.wantAgain)
			}
			var got []string
			for _, uid := range overflow {
				got = append(got, string(uid))
			}
			if diff := cmp.Diff(tc.wantOverflow, got); diff != "" {
				t.Errorf("overflow (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantPending, pendingOf(l)); diff != "" {
				t.Errorf("pending (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantSizes, l.journalSizes); diff != "" {
				t.Errorf("entry sizes (-want +got):\n%s", diff)
			}
			if l.journalBytes != tc.wantBytes {
				t.Errorf("journalBytes = %d, want %d", l.journalBytes, tc.wantBytes)
			}
			if st := l.runs["tr"]; st != nil && (st.journaled != nil) != tc.wantEntry {
				t.Errorf("journaled = %v, want an entry %v", st.journaled, tc.wantEntry)
			}
		})
	}
}

// TestLedgerJournalRoom: a write adds new entries only within this
// replica's share of the room the journal has left, however many TaskRuns
// started within one interval; the rest overflow to their annotations.
// Entries the journal has are kept current whatever the room.
func TestLedgerJournalRoom(t *testing.T) {
	all := func(types.NamespacedName) bool { return true }
	tests := []struct {
		name        string
		journalMax  int
		used        int
		writers     int
		wantSet     int
		wantOverrun int
	}{
		{name: "room for all", journalMax: 10 * entryOf("tr-0"), writers: 1, wantSet: 5},
		{name: "room for three of five", journalMax: 3*entryOf("tr-0") + 5, writers: 1, wantSet: 3, wantOverrun: 2},
		{name: "two replicas: half the room each", journalMax: 6*entryOf("tr-0") + 5, writers: 2, wantSet: 3, wantOverrun: 2},
		{name: "full: none, but the known entry", journalMax: 100, used: 100, writers: 1, wantSet: 0, wantOverrun: 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLedger(interval, tc.journalMax, tc.writers)
			l.journalBytes = tc.used
			for i := range 5 {
				name := fmt.Sprintf("tr-%d", i)
				l.delivered(types.UID(name), keyOf(name), prog(0, "a"), t0)
				l.journalPending[types.UID(name)] = struct{}{}
			}
			l.runs["known"] = &runState{key: keyOf("known"), delivered: prog(0, "a."), saved: &checkpoint.Progress{}, journaled: prog(0, "a")}
			l.journalPending["known"] = struct{}{}
			b, err := l.takeJournalBatch(all, all)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := b.set["known"]; !ok {
				t.Error("the known entry was not kept current")
			}
			if len(b.set)-1 != tc.wantSet || len(b.overflow) != tc.wantOverrun {
				t.Errorf("new entries set %d, overflowing %d; want %d, %d", len(b.set)-1, len(b.overflow), tc.wantSet, tc.wantOverrun)
			}
			if len(l.journalPending) != 0 {
				t.Errorf("still pending: %v", pendingOf(l))
			}
		})
	}
}

// TestLedgerJournalBudget: once the journal's entries reach the budget, new
// running TaskRuns go to their annotation; an entry removed makes room again.
func TestLedgerJournalBudget(t *testing.T) {
	all := func(types.NamespacedName) bool { return true }
	entry := entryOf("tr-1")
	l := newLedger(interval, entry, 1) // room for exactly one entry
	for _, name := range []string{"tr-1", "tr-2"} {
		l.delivered(types.UID(name), keyOf(name), prog(0, "a"), t0)
	}
	if r := l.schedule("tr-1", false, nil, t0); r.where != toJournal {
		t.Fatalf("first TaskRun: %+v, want the journal", r)
	}
	b, _ := l.takeJournalBatch(all, all)
	l.journalWritten(b, written, entry)
	if l.journalBytes != entry {
		t.Fatalf("journalBytes = %d, want %d", l.journalBytes, entry)
	}
	if r := l.schedule("tr-2", false, nil, t0); r.where != toAnnotation {
		t.Errorf("TaskRun beyond the budget: %+v, want the annotation", r)
	}
	// tr-1 finishes: its annotation is written and its entry removed.
	l.delivered("tr-1", keyOf("tr-1"), prog(0, "a."), t0)
	if r := l.schedule("tr-1", true, nil, t0); r.where != toAnnotation {
		t.Fatalf("finished TaskRun: %+v, want the annotation", r)
	}
	w, _ := l.beginAnnotation("tr-1")
	if !l.endAnnotation(w, written, t0) {
		t.Fatal("the obsolete entry was not marked for removal")
	}
	b, _ = l.takeJournalBatch(all, all)
	if len(b.remove) != 1 || b.remove[0] != "tr-1" {
		t.Fatalf("batch = %+v, want tr-1 removed", b)
	}
	l.journalWritten(b, written, 0)
	l.delivered("tr-2", keyOf("tr-2"), prog(0, "a."), t0)
	if r := l.schedule("tr-2", false, nil, t0); r.where != toJournal {
		t.Errorf("with room again: %+v, want the journal", r)
	}
}

func TestLedgerFlushPlan(t *testing.T) {
	mine := func(k types.NamespacedName) bool { return k.Name != "elsewhere" }
	runs := []run{
		{name: "finished", delivered: prog(0, "a."), journaled: prog(0, "a"), finished: true},
		{name: "running", delivered: prog(0, "a.", "b")},
		{name: "running-journaled", delivered: prog(0, "a."), journaled: prog(0, "a")},
		{name: "recorded", delivered: prog(0, "a"), journaled: prog(0, "a")},
		{name: "annotated", delivered: prog(0, "a."), saved: prog(0, "a."), finished: true},
		{name: "elsewhere", delivered: prog(0, "a")},
		{name: "refused", delivered: prog(0, "a."), finished: true},
	}
	tests := []struct {
		name         string
		journalUsed  int
		wantAnnotate []string
		wantJournal  []string
	}{{
		name:         "journal with room: finished attempts to their annotation, running TaskRuns to the journal",
		wantAnnotate: []string{"finished"},
		wantJournal:  []string{"refused", "running", "running-journaled"},
	}, {
		name:         "journal full: a running TaskRun without an entry to its annotation, one with an entry keeps it",
		journalUsed:  100,
		wantAnnotate: []string{"finished", "running"},
		wantJournal:  []string{"running-journaled"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := ledgerWith(100, append([]run{{name: "filler", entrySize: tc.journalUsed}}, runs...)...)
			// Its annotation was refused: it belongs in the journal.
			l.runs["refused"].unannotatable = true
			var annotate []string
			for uid, key := range l.flushPlan(mine) {
				if key != keyOf(string(uid)) {
					t.Errorf("%s: key %v", uid, key)
				}
				annotate = append(annotate, string(uid))
			}
			sort.Strings(annotate)
			if diff := cmp.Diff(tc.wantAnnotate, annotate); diff != "" {
				t.Errorf("annotate (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantJournal, pendingOf(l)); diff != "" {
				t.Errorf("journal pending (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLedgerAdoptsACoveringAnnotation: a bucket's new leader reads an
// older journal entry of a finished TaskRun (its previous leader died
// between writing the annotation and removing the entry). The annotation
// covers the entry: the entry is removed, and neither the next schedule
// nor a flush (handover, shutdown) writes the older progress over the
// annotation, which would make the next leader send the rest again.
func TestLedgerAdoptsACoveringAnnotation(t *testing.T) {
	tests := []struct {
		name      string
		finished  bool
		annotated *checkpoint.Progress
	}{
		{name: "finished attempt", finished: true, annotated: prog(0, "a.", "b.")},
		{name: "running, the annotation further than the entry", annotated: prog(0, "a.", "b")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// As ledger.load leaves a TaskRun it read from the journal.
			l := ledgerWith(100, run{name: "tr", delivered: prog(0, "a."), journaled: prog(0, "a.")})
			if got := l.schedule("tr", tc.finished, tc.annotated, t0); got != (placement{where: toJournal}) {
				t.Errorf("schedule = %+v, want the journal writer woken to remove the entry", got)
			}
			b, err := l.takeJournalBatch(func(types.NamespacedName) bool { return true }, func(types.NamespacedName) bool { return true })
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]types.UID{"tr"}, b.remove); diff != "" || len(b.set) != 0 {
				t.Errorf("journal batch removes %v and sets %v, want the entry removed only", b.remove, b.set)
			}
			if got := l.schedule("tr", tc.finished, tc.annotated, t0); got != (placement{}) {
				t.Errorf("second schedule = %+v, want nothing", got)
			}
			if plan := l.flushPlan(func(types.NamespacedName) bool { return true }); len(plan) != 0 {
				t.Errorf("flush would write the annotations of %v", plan)
			}
			if w, ok := l.beginAnnotation("tr"); ok {
				l.endAnnotation(w, notWritten, t0)
				t.Errorf("an annotation write of %+v was claimed", w.progress)
			}
		})
	}
}

func TestLedgerForget(t *testing.T) {
	l := ledgerWith(100, run{name: "journaled", delivered: prog(0, "a"), entrySize: 10}, run{name: "plain", delivered: prog(0, "a")})
	if !l.forget("journaled") {
		t.Error("forgetting a journaled TaskRun must wake the journal writer")
	}
	if l.forget("plain") {
		t.Error("forgetting a TaskRun without an entry must not")
	}
	if len(l.runs) != 0 {
		t.Errorf("runs left: %v", l.runs)
	}
	if diff := cmp.Diff([]string{"journaled"}, pendingOf(l)); diff != "" {
		t.Errorf("pending (-want +got):\n%s", diff)
	}
}

func TestLedgerLoad(t *testing.T) {
	l := ledgerWith(1000,
		run{name: "behind", delivered: prog(0, "a"), witnessed: true},
		run{name: "ahead", delivered: prog(0, "a.", "b"), witnessed: true},
		// Removed by another replica since this one last looked.
		run{name: "stale", entrySize: 500},
	)
	entries := map[types.UID]checkpoint.Entry{
		"behind":      {TaskRun: keyOf("behind"), Progress: prog(0, "a."), Size: 10},
		"ahead":       {TaskRun: keyOf("ahead"), Progress: prog(0, "a"), Size: 11},
		"new":         {TaskRun: keyOf("new"), Progress: prog(1, "a"), Size: 12},
		"otherbucket": {TaskRun: keyOf("otherbucket"), Progress: prog(0, "a"), Size: 13},
	}
	l.load(entries, func(k types.NamespacedName) bool { return k.Name != "otherbucket" }, t0)
	// Every entry counts against the budget, also another bucket's; the
	// read replaces what was known.
	if diff := cmp.Diff(map[types.UID]int{"behind": 10, "ahead": 11, "new": 12, "otherbucket": 13}, l.journalSizes); diff != "" {
		t.Errorf("sizes (-want +got):\n%s", diff)
	}
	if l.journalBytes != 46 {
		t.Errorf("journalBytes = %d, want 46", l.journalBytes)
	}
	for name, want := range map[types.UID]*checkpoint.Progress{"behind": prog(0, "a."), "ahead": prog(0, "a.", "b"), "new": prog(1, "a")} {
		st := l.runs[name]
		if st == nil || !st.delivered.Covers(want) || !want.Covers(st.delivered) || st.journaled != entries[name].Progress {
			t.Errorf("%s after load: %+v, want delivered %v and the entry as journaled", name, st, want)
		}
	}
	if _, ok := l.runs["otherbucket"]; ok {
		t.Error("another bucket's TaskRun was taken in")
	}
	// What the journal adds is not what this process saw delivered.
	for name, want := range map[types.UID]bool{"behind": false, "ahead": true, "new": false} {
		if got := l.runs[name].witnessed; got != want {
			t.Errorf("%s after load: witnessed %v, want %v", name, got, want)
		}
	}
	if st := l.runs["new"]; !st.recorded() {
		t.Error("a TaskRun known only from the journal must count as recorded")
	}
}

func TestLedgerPrune(t *testing.T) {
	tests := []struct {
		name      string
		run       run
		annotated *checkpoint.Progress // nil: the TaskRun is gone
		wantPrune bool
		wantKept  bool
	}{{
		name:      "gone: dropped, its entry removed",
		run:       run{name: "tr", delivered: prog(0, "a"), journaled: prog(0, "a")},
		wantPrune: true,
	}, {
		name:      "the annotation covers the entry: the entry is removed",
		run:       run{name: "tr", delivered: prog(0, "a."), journaled: prog(0, "a.")},
		annotated: prog(0, "a."),
		wantPrune: true,
		wantKept:  true,
	}, {
		name:      "the annotation is behind the entry: kept",
		run:       run{name: "tr", delivered: prog(0, "a."), journaled: prog(0, "a.")},
		annotated: prog(0, "a"),
		wantKept:  true,
	}, {
		name: "unknown: nothing",
		run:  run{name: "other"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := ledgerWith(100, tc.run)
			if got := l.prune("tr", tc.annotated); got != tc.wantPrune {
				t.Errorf("prune = %v, want %v", got, tc.wantPrune)
			}
			if _, kept := l.runs["tr"]; kept != tc.wantKept {
				t.Errorf("kept = %v, want %v", kept, tc.wantKept)
			}
			if _, pending := l.journalPending["tr"]; pending != tc.wantPrune {
				t.Errorf("entry removal pending = %v, want %v", pending, tc.wantPrune)
			}
			if tc.wantPrune && tc.wantKept && !l.runs["tr"].saved.Covers(tc.annotated) {
				t.Error("the annotation was not taken as what is saved")
			}
		})
	}
	l := ledgerWith(100, run{name: "a", delivered: prog(0, "x"), journaled: prog(0, "x")}, run{name: "b", delivered: prog(0, "x")})
	if diff := cmp.Diff(map[types.UID]types.NamespacedName{"a": keyOf("a")}, l.journaled()); diff != "" {
		t.Errorf("journaled (-want +got):\n%s", diff)
	}
}

// TestLedgerAfterRefusedJournalWrite: once the apiserver refused a journal
// write as too large, new entries overflow to their annotations and the
// next writes only remove entries, until one lands; refusals never loop.
func TestLedgerAfterRefusedJournalWrite(t *testing.T) {
	all := func(types.NamespacedName) bool { return true }
	l := ledgerWith(10000,
		run{name: "new", delivered: prog(0, "a"), pending: true},
		run{name: "known", delivered: prog(0, "a."), journaled: prog(0, "a"), pending: true, entrySize: 40},
	)
	b, _ := l.takeJournalBatch(all, all)
	if _, overflow := l.journalWritten(b, refused, 0); len(overflow) != 1 || overflow[0] != "new" {
		t.Fatalf("overflow = %v, want the new entry", overflow)
	}
	// A finished TaskRun's entry is to be removed meanwhile.
	l.runs["done"] = &runState{key: keyOf("done"), delivered: prog(0, "a."), saved: prog(0, "a."), journaled: prog(0, "a")}
	l.setJournalSize("done", 30)
	l.journalPending["done"] = struct{}{}
	b, _ = l.takeJournalBatch(all, all)
	if len(b.set) != 0 || len(b.remove) != 1 || b.remove[0] != "done" {
		t.Fatalf("after a refusal: set %v, remove %v; want only the removal", b.set, b.remove)
	}
	if diff := cmp.Diff([]string{"known"}, pendingOf(l)); diff != "" {
		t.Errorf("pending (-want +got):\n%s", diff)
	}
	l.journalWritten(b, written, 40)
	b, _ = l.takeJournalBatch(all, all)
	if _, ok := b.set["known"]; !ok {
		t.Errorf("once a write landed, updates are written again: %+v", b)
	}
}
