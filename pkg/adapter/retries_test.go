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
	"net/http"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"go.opentelemetry.io/otel/metric/noop"
	"go.uber.org/zap/zaptest"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/events"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/masking"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/steplog"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/test/receiver"
)

// newLogTestAdapter is an adapter that delivers to a real receiver and
// reads logs from a fake clientset (its pods' logs are "fake logs").
func newLogTestAdapter(t *testing.T) (*Adapter, *fake.Clientset, *receiver.Receiver) {
	t.Helper()
	kube := fake.NewClientset()
	sink := receiver.New(t)
	ce, err := cloudevents.NewClientHTTP(cloudevents.WithTarget(sink.URL))
	if err != nil {
		t.Fatal(err)
	}
	stats, err := newMetrics(noop.NewMeterProvider(), "ci", "steps", func() int { return 0 })
	if err != nil {
		t.Fatal(err)
	}
	return &Adapter{
		opts:           Options{CloudEvents: ce, SendTimeout: 5 * time.Second},
		requestTimeout: 5 * time.Second,
		cfg:            &adaptercontract.Config{SourceUID: "src", LogMaxBytes: 1024},
		logger:         zaptest.NewLogger(t).Sugar(),
		logs:           &steplog.Reader{Client: kube},
		stats:          stats,
		retries:        newRetries(),
	}, kube, sink
}

// TestStepLogReadOncePerTransition: while a terminal event is retried, the
// step's log is not read again, every attempt carries the same log, and
// the next transition reads its own.
func TestStepLogReadOncePerTransition(t *testing.T) {
	a, kube, sink := newLogTestAdapter(t)
	tr := finishedRun(at(9), "")
	var terminal []transitions.Transition
	for _, tt := range transitions.ForTaskRun(tr, time.Time{}) {
		if tt.Kind == transitions.Succeeded {
			terminal = append(terminal, tt)
		}
	}
	logReads := func() int {
		n := 0
		for _, action := range kube.Actions() {
			if action.GetSubresource() == "log" {
				n++
			}
		}
		return n
	}

	ctx := context.Background()
	sink.FailWith(http.StatusServiceUnavailable)
	for attempt := 1; attempt <= 3; attempt++ {
		if err := a.deliver(ctx, tr, terminal[0], ""); err == nil {
			t.Fatalf("attempt %d against a failing sink succeeded", attempt)
		}
	}
	sink.FailWith(0)
	if err := a.deliver(ctx, tr, terminal[0], ""); err != nil {
		t.Fatal(err)
	}
	if n := logReads(); n != 1 {
		t.Errorf("the log was read %d times for one transition delivered on its 4th attempt, want 1", n)
	}
	if err := a.deliver(ctx, tr, terminal[1], ""); err != nil {
		t.Fatal(err)
	}
	if n := logReads(); n != 2 {
		t.Errorf("log reads after the next transition = %d, want 2", n)
	}
	for _, e := range sink.Events() {
		var d events.Data
		if err := e.DataAs(&d); err != nil {
			t.Fatal(err)
		}
		if d.Log == nil || *d.Log != "fake logs" {
			t.Errorf("%s carries log %v, want the step's log", e.ID(), d.Log)
		}
	}
	if len(a.retries.byRun) != 0 {
		t.Errorf("retry states still held after delivery: %v", a.retries.byRun)
	}
}

// TestLogNotHeldIsReadAgain: a retry whose log was not held (the held logs
// were at their bound) reads the log again and still carries it.
func TestLogNotHeldIsReadAgain(t *testing.T) {
	a, _, sink := newLogTestAdapter(t)
	a.retries.bytes = maxHeldBytes // no room for another log
	tr := finishedRun(at(9), "")
	var succeeded transitions.Transition
	for _, tt := range transitions.ForTaskRun(tr, time.Time{}) {
		if tt.Kind == transitions.Succeeded {
			succeeded = tt
			break
		}
	}
	sink.FailWith(http.StatusServiceUnavailable)
	if err := a.deliver(context.Background(), tr, succeeded, ""); err == nil {
		t.Fatal("delivered to a failing sink")
	}
	if st, ok := a.retries.get(tr.UID, succeeded.ID(tr.UID)); !ok || st.log != nil || st.failures != 1 {
		t.Fatalf("retry state = %+v, %v; want one failure, no log held", st, ok)
	}
	sink.FailWith(0)
	if err := a.deliver(context.Background(), tr, succeeded, ""); err != nil {
		t.Fatal(err)
	}
	evs := sink.Events()
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	var d events.Data
	if err := evs[0].DataAs(&d); err != nil {
		t.Fatal(err)
	}
	if d.Log == nil || *d.Log != "fake logs" {
		t.Errorf("the retried event carries log %v, want the step's log read again", d.Log)
	}
}

// TestRetriesBounded: the held logs never take more than maxHeldBytes;
// one that does not fit is read again on its retry, while its retry state
// (attempts, wait) is kept.
func TestRetriesBounded(t *testing.T) {
	r := newRetries()
	big := &steplog.Log{Text: string(make([]byte, maxHeldBytes/2+1))}
	first, second := finishedRun(nil, ""), finishedRun(nil, "")
	second.UID = "uid-2"
	r.hold(first, retryState{id: "id-1", log: big, failures: 1})
	r.hold(second, retryState{id: "id-2", log: big, failures: 2})
	if st, ok := r.get(first.UID, "id-1"); !ok || st.log == nil {
		t.Error("the first log was not held")
	}
	if st, ok := r.get(second.UID, "id-2"); !ok || st.log != nil || st.failures != 2 || r.bytes > maxHeldBytes {
		t.Errorf("held %d bytes, over %d (second: %+v, %v)", r.bytes, maxHeldBytes, st, ok)
	}
	if _, ok := r.get(first.UID, "id-other"); ok {
		t.Error("a state was returned for another event of the TaskRun")
	}
	r.release(first.UID)
	r.release(first.UID)
	if r.bytes != 0 {
		t.Errorf("after release: %d bytes held", r.bytes)
	}
	r.hold(second, retryState{id: "id-2", log: big})
	if st, ok := r.get(second.UID, "id-2"); !ok || st.log == nil {
		t.Error("with room again, the log was not held")
	}
}

// TestRetriesHoldMaskers: a masker counts in the retries' memory once,
// while any retry state holds it; past maxHeldBytes a state holds neither
// a masker that is not held already nor its log (its retry builds the
// masker and reads the log again, so a Secret that can no longer be read
// withholds the log), while a masker held already costs nothing more.
func TestRetriesHoldMaskers(t *testing.T) {
	patterns, err := masking.Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	shared := masking.New(patterns, [][]byte{[]byte("shared-s3cret")})
	other := masking.New(patterns, [][]byte{[]byte("other-s3cret-value")})
	log := &steplog.Log{Text: "fake logs"}
	s, o, l := shared.Size(), other.Size(), len(log.Text)
	r := newRetries()
	steps := []struct {
		name string
		// run holds the masker and log, or releases its state (release).
		run     string
		masker  *masking.Masker
		log     *steplog.Log
		release bool
		// elsewhere is memory the step finds held by retries of others.
		elsewhere  int
		wantMasker bool
		wantLog    bool
		wantBytes  int
	}{
		{name: "a first masker and log", run: "a", masker: shared, log: log, wantMasker: true, wantLog: true, wantBytes: s + l},
		{name: "the same masker, shared", run: "b", masker: shared, log: log, wantMasker: true, wantLog: true, wantBytes: s + 2*l},
		{name: "another masker", run: "c", masker: other, wantMasker: true, wantBytes: s + o + 2*l},
		{name: "the same run again: counted once", run: "c", masker: other, wantMasker: true, wantBytes: s + o + 2*l},
		{name: "one of the sharers released", run: "a", release: true, wantBytes: s + o + l},
		{name: "the last sharer released", run: "b", release: true, wantBytes: o},
		{name: "past the bound, a held masker costs nothing", run: "d", masker: other, elsewhere: maxHeldBytes - o,
			wantMasker: true, wantBytes: maxHeldBytes},
		{name: "past the bound, a new masker is not held, nor its log", run: "e", masker: shared, log: log, wantBytes: maxHeldBytes},
		{name: "all released", run: "c", release: true, elsewhere: -(maxHeldBytes - o), wantBytes: o},
		{name: "the masker goes with its last holder", run: "d", release: true, wantBytes: 0},
	}
	for _, step := range steps {
		tr := finishedRun(nil, "")
		tr.UID = types.UID(step.run)
		r.bytes += step.elsewhere
		if step.release {
			r.release(tr.UID)
		} else {
			r.hold(tr, retryState{id: step.run, masker: step.masker, log: step.log, withheld: errors.New("kept with its masker")})
			st, _ := r.get(tr.UID, step.run)
			if (st.masker != nil) != step.wantMasker || (st.withheld != nil) != step.wantMasker || (st.log != nil) != step.wantLog {
				t.Errorf("%s: held masker %v, withheld %v, log %v; want masker %v, log %v",
					step.name, st.masker != nil, st.withheld, st.log != nil, step.wantMasker, step.wantLog)
			}
		}
		if r.bytes != step.wantBytes {
			t.Errorf("%s: %d bytes held, want %d", step.name, r.bytes, step.wantBytes)
		}
	}
}
