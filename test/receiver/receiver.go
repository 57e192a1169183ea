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
// down, standing in for a sink that is down or overloaded. It can serve
// HTTPS (WithTLS) and report the subject and audience of the bearer token
// each event came with (WithTokenExtension).
package receiver

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
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
	tokenExt string // "": bearer tokens are not reported

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

// Option configures a receiver at Start.
type Option func(*options)

type options struct {
	cert     *tls.Certificate
	tokenExt string
}

// WithTLS makes the receiver serve HTTPS only, with cert; its URL is then
// "https://...". Senders must trust cert's issuer, as a sink with a
// CACerts in its Destination is trusted.
func WithTLS(cert tls.Certificate) Option {
	return func(o *options) { o.cert = &cert }
}

// WithTokenExtension makes the receiver report, on each event it records,
// the bearer token the request came with, as the extensions name+"sub" and
// name+"aud": the token's "sub" claim and its "aud" claim (a list joined
// with ","), each left out when the token has none. A request without
// "Authorization: Bearer" gets name+"sub" = "none", one whose token is not
// a JWT with a JSON header and payload (or whose sub or aud has the wrong
// type) gets name+"sub" = "invalid"; neither gets name+"aud". The receiver
// does not check the token's signature: it only reports what came, for
// tests to check what the sender (e.g. Knative's broker filter, whose
// ingress is what verifies tokens) presented. Values the event itself
// carried under those names are overwritten, so a sender cannot forge
// them. name must be lowercase letters and digits, as CloudEvents
// extension names are.
func WithTokenExtension(name string) Option {
	return func(o *options) { o.tokenExt = name }
}

// Start listens on addr (a loopback port for "") and serves until Stop, as
// opts configure it.
func Start(addr string, opts ...Option) (*Receiver, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.tokenExt != "" && !isExtensionName(o.tokenExt) {
		return nil, fmt.Errorf("token extension %q: CloudEvents extension names are lowercase letters and digits", o.tokenExt)
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	scheme := "http"
	r := &Receiver{listener: l, tokenExt: o.tokenExt, changed: make(chan struct{}), stopped: make(chan struct{})}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	if o.cert != nil {
		scheme = "https"
		r.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*o.cert}, MinVersion: tls.VersionTLS12}
		r.srv.ErrorLog = log.New(quietProbes{log.Writer()}, "", log.LstdFlags)
		go func() { _ = r.srv.ServeTLS(l, "", "") }()
	} else {
		go func() { _ = r.srv.Serve(l) }()
	}
	r.URL = scheme + "://" + l.Addr().String()
	return r, nil
}

// quietProbes drops the server's "TLS handshake error ... EOF" lines: a
// tcpSocket readiness probe connects and closes without a handshake, every
// period, and each would otherwise log a line to the pod's log. Other
// handshake errors (a client refusing the certificate) stay, as they are
// what explains a sender that cannot reach the receiver.
type quietProbes struct{ w io.Writer }

func (q quietProbes) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("TLS handshake error")) && bytes.HasSuffix(bytes.TrimSpace(p), []byte(": EOF")) {
		return len(p), nil
	}
	return q.w.Write(p)
}

// New starts a receiver that stops when the test ends.
func New(t testing.TB, opts ...Option) *Receiver {
	t.Helper()
	r, err := Start("", opts...)
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
	if r.tokenExt != "" {
		// Before Respond, so that an answer can depend on the token too.
		sub, aud := tokenClaims(req.Header.Get("Authorization"))
		setOrClear(event, r.tokenExt+"sub", sub)
		setOrClear(event, r.tokenExt+"aud", aud)
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

// setOrClear sets the extension name to value, or removes it for "" (so
// that what the sender put there does not pass for what the token said).
func setOrClear(e *cloudevents.Event, name, value string) {
	if value == "" {
		e.SetExtension(name, nil)
		return
	}
	e.SetExtension(name, value)
}

// isExtensionName says whether name is a CloudEvents extension name:
// lowercase ASCII letters and digits (the SDK also takes uppercase, which
// the specification does not).
func isExtensionName(name string) bool {
	for _, c := range name {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return name != ""
}

// tokenClaims returns the sub and aud claims of the bearer token of an
// Authorization header (aud's values joined with ","), "none" as sub
// without a bearer token, and "invalid" as sub for a token that is not a
// JWS compact JWT with JSON header and payload. The signature is not
// checked: see WithTokenExtension.
func tokenClaims(authorization string) (sub, aud string) {
	scheme, token, _ := strings.Cut(strings.TrimSpace(authorization), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "none", ""
	}
	sub, aud, err := decodeClaims(strings.TrimSpace(token))
	if err != nil {
		return "invalid", ""
	}
	return sub, aud
}

func decodeClaims(token string) (sub, aud string, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", "", fmt.Errorf("%d parts, want 3", len(parts))
	}
	var header map[string]any
	if err := decodeSegment(parts[0], &header); err != nil {
		return "", "", fmt.Errorf("header: %w", err)
	}
	var claims struct {
		Sub *string         `json:"sub"`
		Aud json.RawMessage `json:"aud"`
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return "", "", fmt.Errorf("payload: %w", err)
	}
	if claims.Sub != nil {
		sub = *claims.Sub
	}
	// RFC 7519: aud is one string or an array of strings.
	if len(claims.Aud) > 0 && string(claims.Aud) != "null" {
		var one string
		var many []string
		if json.Unmarshal(claims.Aud, &one) == nil {
			aud = one
		} else if json.Unmarshal(claims.Aud, &many) == nil {
			aud = strings.Join(many, ",")
		} else {
			return "", "", errors.New("aud is neither a string nor a list of strings")
		}
	}
	return sub, aud, nil
}

// decodeSegment decodes one base64url (unpadded, as JWTs are) segment
// holding a JSON object into v.
func decodeSegment(seg string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return errors.New("not a JSON object")
	}
	return json.Unmarshal(raw, v)
}
