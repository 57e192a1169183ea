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

// Package receiver is a real HTTP CloudEvents receiver for tests: it parses
// each request with the CloudEvents SDK (binary and structured modes),
// records accepted events in arrival order, and can be told to fail or slow
// down, standing in for a sink that is down or overloaded.
package receiver

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// Receiver is a CloudEvents sink listening on loopback.
type Receiver struct {
	// URL is where to send events.
	URL string

	srv      *http.Server
	listener net.Listener
	status   atomic.Int32 // non-zero: answer with this status and drop the event
	inFlight atomic.Int32
	maxIn    atomic.Int32
	delay    atomic.Int64 // nanoseconds to wait before answering
	respond  atomic.Pointer[func(cloudevents.Event) Response]

	mu       sync.Mutex
	events   []cloudevents.Event
	arrivals []time.Time
	rejected int
	attempts []Attempt
	changed  chan struct{}
	// stopped ends the requests held by a Response with Hang.
	stopped  chan struct{}
	stopOnce sync.Once
}

// Response is how the receiver answers one event: Status 0 accepts it;
// any other status refuses it (the event is not recorded) with Header and
// Body. Hang holds the request unanswered until the client gives up or the
// receiver stops, as a sink that accepts connections and never answers.
type Response struct {
	Status int
	Header http.Header
	Body   string
	Hang   bool
}

// Attempt is one request that carried a valid CloudEvent: its id, when it
// arrived and the status it was answered (0: none, it hung).
type Attempt struct {
	ID     string
	At     time.Time
	Status int
}

// Start listens on a loopback port (addr "" picks one) and serves until Stop.
func Start(addr string) (*Receiver, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	r := &Receiver{URL: "http://" + l.Addr().String(), listener: l, changed: make(chan struct{}), stopped: make(chan struct{})}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(l) }()
	return r, nil
}

// New starts a receiver that stops when the test ends.
func New(t testing.TB) *Receiver {
	t.Helper()
	r, err := Start("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

// Stop shuts the server down.
func (r *Receiver) Stop() {
	r.stopOnce.Do(func() { close(r.stopped) })
	_ = r.srv.Close()
}

// FailWith makes the receiver answer every request with status (and not
// record the event); 0 restores normal operation.
func (r *Receiver) FailWith(status int) { r.status.Store(int32(status)) }

// Refuse makes the receiver answer each event for which status returns a
// non-zero status with that status (and not record the event); nil restores
// normal operation.
func (r *Receiver) Refuse(status func(cloudevents.Event) int) {
	if status == nil {
		r.Respond(nil)
		return
	}
	r.Respond(func(e cloudevents.Event) Response { return Response{Status: status(e)} })
}

// Respond makes the receiver answer each event as answer says; nil
// restores normal operation.
func (r *Receiver) Respond(answer func(cloudevents.Event) Response) {
	if answer == nil {
		r.respond.Store(nil)
		return
	}
	r.respond.Store(&answer)
}

// Delay makes the receiver wait d before answering each request.
func (r *Receiver) Delay(d time.Duration) { r.delay.Store(int64(d)) }

// ServeHTTP implements http.Handler.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	n := r.inFlight.Add(1)
	defer r.inFlight.Add(-1)
	for {
		m := r.maxIn.Load()
		if n <= m || r.maxIn.CompareAndSwap(m, n) {
			break
		}
	}
	if d := time.Duration(r.delay.Load()); d > 0 {
		select {
		case <-time.After(d):
		case <-req.Context().Done():
			return
		}
	}
	if status := int(r.status.Load()); status != 0 {
		r.mu.Lock()
		r.rejected++
		r.mu.Unlock()
		w.WriteHeader(status)
		return
	}
	if req.Method != http.MethodPost {
		// As Knative's ingresses: events come by POST only.
		http.Error(w, "CloudEvents are POSTed", http.StatusMethodNotAllowed)
		return
	}
	msg := cehttp.NewMessageFromHttpRequest(req)
	defer msg.Finish(nil)
	event, err := binding.ToEvent(req.Context(), msg)
	if err != nil {
		http.Error(w, "not a CloudEvent: "+err.Error(), http.StatusBadRequest)
		return
	}
	if err := event.Validate(); err != nil {
		http.Error(w, "invalid CloudEvent: "+err.Error(), http.StatusBadRequest)
		return
	}
	arrived := time.Now()
	if respond := r.respond.Load(); respond != nil {
		if answer := (*respond)(*event); answer.Hang {
			r.attempted(event.ID(), arrived, 0)
			select {
			case <-req.Context().Done():
			case <-r.stopped:
			}
			return
		} else if answer.Status != 0 {
			r.attempted(event.ID(), arrived, answer.Status)
			r.mu.Lock()
			r.rejected++
			r.mu.Unlock()
			for k, v := range answer.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(answer.Status)
			_, _ = w.Write([]byte(answer.Body))
			return
		}
	}
	r.attempted(event.ID(), arrived, http.StatusAccepted)
	r.mu.Lock()
	r.events = append(r.events, *event)
	r.arrivals = append(r.arrivals, time.Now())
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// Events returns the accepted events in arrival order.
func (r *Receiver) Events() []cloudevents.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]cloudevents.Event(nil), r.events...)
}

// MaxConcurrent is the most requests that were in progress at once.
func (r *Receiver) MaxConcurrent() int { return int(r.maxIn.Load()) }

// Arrivals returns when each accepted event arrived, in the order of Events.
func (r *Receiver) Arrivals() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.arrivals...)
}

// attempted records one attempt.
func (r *Receiver) attempted(id string, at time.Time, status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = append(r.attempts, Attempt{ID: id, At: at, Status: status})
}

// Attempts returns the requests that carried a valid CloudEvent, in
// arrival order, except those refused by FailWith (which are not parsed).
func (r *Receiver) Attempts() []Attempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Attempt(nil), r.attempts...)
}

// Rejected counts requests answered with a FailWith or Respond status.
func (r *Receiver) Rejected() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rejected
}

// WaitFor waits until match holds for the accepted events, or the timeout.
func (r *Receiver) WaitFor(ctx context.Context, timeout time.Duration, match func([]cloudevents.Event) bool) ([]cloudevents.Event, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		events := append([]cloudevents.Event(nil), r.events...)
		changed := r.changed
		r.mu.Unlock()
		if match(events) {
			return events, nil
		}
		select {
		case <-changed:
		case <-deadline.C:
			return events, fmt.Errorf("timed out after %s with %d events", timeout, len(events))
		case <-ctx.Done():
			return events, ctx.Err()
		}
	}
}

// WaitForCount waits until at least n events were accepted.
func (r *Receiver) WaitForCount(ctx context.Context, timeout time.Duration, n int) ([]cloudevents.Event, error) {
	return r.WaitFor(ctx, timeout, func(e []cloudevents.Event) bool { return len(e) >= n })
}
