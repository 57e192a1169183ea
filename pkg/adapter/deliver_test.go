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
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"knative.dev/pkg/reconciler"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/events"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/ownership"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/steplog"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/streams"
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
	a := testAdapter(t, &adaptercontract.Config{LogMaxBytes: 1024}, func(o *Options) {
		o.Kube, o.CloudEvents, o.SendTimeout = kube, ce, 5*time.Second
		// Retried at once: the tests make each attempt themselves.
		o.RetryBaseDelay, o.RetryMaxDelay = time.Nanosecond, time.Nanosecond
	})
	return a, kube, sink
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
		if err := a.deliver(ctx, tr, terminal[0], streams.Live, ""); err == nil {
			t.Fatalf("attempt %d against a failing sink succeeded", attempt)
		}
	}
	sink.FailWith(0)
	if err := a.deliver(ctx, tr, terminal[0], streams.Live, ""); err != nil {
		t.Fatal(err)
	}
	if n := logReads(); n != 1 {
		t.Errorf("the log was read %d times for one transition delivered on its 4th attempt, want 1", n)
	}
	if err := a.deliver(ctx, tr, terminal[1], streams.Live, ""); err != nil {
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
	if _, held := a.streams.Attempt(types.NamespacedName{Namespace: tr.Namespace, Name: tr.Name}, tr.UID, streams.Live, terminal[1].ID(tr.UID)); held || a.streams.Held() != 0 {
		t.Errorf("attempts still held after delivery: %d bytes", a.streams.Held())
	}
}

// TestLogNotHeldIsReadAgain: a retry whose log was not held (the held logs
// were at their bound) reads the log again and still carries it.
func TestLogNotHeldIsReadAgain(t *testing.T) {
	a, _, sink := newLogTestAdapter(t)
	// No room for another log.
	a.streams.Hold(keyOf("other"), "other", streams.Live, streams.Attempt{ID: "other", Log: &steplog.Log{Text: string(make([]byte, streams.MaxHeldBytes))}})
	tr := finishedRun(at(9), "")
	var succeeded transitions.Transition
	for _, tt := range transitions.ForTaskRun(tr, time.Time{}) {
		if tt.Kind == transitions.Succeeded {
			succeeded = tt
			break
		}
	}
	sink.FailWith(http.StatusServiceUnavailable)
	if err := a.deliver(context.Background(), tr, succeeded, streams.Live, ""); err == nil {
		t.Fatal("delivered to a failing sink")
	}
	if at, ok := a.streams.Attempt(types.NamespacedName{Namespace: tr.Namespace, Name: tr.Name}, tr.UID, streams.Live, succeeded.ID(tr.UID)); !ok || at.Log != nil || at.Failures != 1 {
		t.Fatalf("attempt = %+v, %v; want one failure, no log held", at, ok)
	}
	sink.FailWith(0)
	if err := a.deliver(context.Background(), tr, succeeded, streams.Live, ""); err != nil {
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

// TestSendOwned: a send, live or replayed, counts as under way while it
// runs, so a hand-over or a namespace leaving waits for it, and does not
// run once another replica owns the TaskRun.
func TestSendOwned(t *testing.T) {
	a := testAdapter(t, &adaptercontract.Config{}, nil)
	key := keyOf("build")
	same := func(k types.NamespacedName) bool { return k == key }
	ran := false
	owned, err := a.sendOwned(key, func() error {
		ran = true
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if a.streams.Wait(ctx, same) {
			t.Error("a hand-over's wait did not wait for the send under way")
		}
		return errors.New("refused")
	})
	if !owned || !ran || err == nil || err.Error() != "refused" {
		t.Errorf("sendOwned = %v, %v (ran %v); want the send run and its error", owned, err, ran)
	}
	if !a.streams.Wait(context.Background(), same) {
		t.Error("the send still counts as under way after it returned")
	}
	// Another replica leads the TaskRun's bucket now.
	a.owner = ownership.Elected(&reconciler.LeaderAwareFuncs{}, 1)
	if owned, err := a.sendOwned(key, func() error { t.Error("sent a TaskRun another replica owns"); return nil }); owned || err != nil {
		t.Errorf("sendOwned = %v, %v; want not owned", owned, err)
	}
}
