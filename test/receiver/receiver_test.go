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

package receiver_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/tektonstep/tekton-step-source/test/receiver"
	"github.com/tektonstep/tekton-step-source/test/testca"
)

// jwt builds a compact JWS from a JSON header and payload; the receiver
// does not check signatures, so the signature is any base64url text.
func jwt(header, payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(payload)) + "." + enc([]byte("signature"))
}

const jwtHeader = `{"alg":"RS256","typ":"JWT","kid":"k1"}`

// post sends one binary-mode CloudEvent with id to url, with the
// Authorization header when authorization is not "" and the extra ce-
// headers, and returns the answer's status.
func post(t *testing.T, c *http.Client, url, id, authorization string, extra map[string]string) (int, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"n":1}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Ce-Specversion", "1.0")
	req.Header.Set("Ce-Id", id)
	req.Header.Set("Ce-Source", "/receiver/test")
	req.Header.Set("Ce-Type", "dev.example.test")
	for k, v := range extra {
		req.Header.Set("Ce-"+k, v)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// extension returns the extension name of e as a string, and whether e has it.
func extension(e cloudevents.Event, name string) (string, bool) {
	v, ok := e.Extensions()[name]
	if !ok {
		return "", false
	}
	s, _ := v.(string)
	return s, true
}

func TestTokenExtension(t *testing.T) {
	const sa = "system:serviceaccount:ns:mt-broker-filter"
	tests := []struct {
		name          string
		authorization string
		extra         map[string]string // ce- headers the sender adds
		wantSub       string            // "": no tokensub extension
		wantAud       string            // "": no tokenaud extension
	}{
		{name: "no token", wantSub: "none"},
		{name: "string aud", authorization: "Bearer " + jwt(jwtHeader, `{"sub":"`+sa+`","aud":"https://broker.example"}`),
			wantSub: sa, wantAud: "https://broker.example"},
		{name: "list aud", authorization: "Bearer " + jwt(jwtHeader, `{"sub":"`+sa+`","aud":["a","b","c"]}`),
			wantSub: sa, wantAud: "a,b,c"},
		{name: "one-element list aud", authorization: "Bearer " + jwt(jwtHeader, `{"sub":"`+sa+`","aud":["a"]}`),
			wantSub: sa, wantAud: "a"},
		{name: "no aud", authorization: "Bearer " + jwt(jwtHeader, `{"sub":"`+sa+`","exp":1}`), wantSub: sa},
		{name: "no sub", authorization: "Bearer " + jwt(jwtHeader, `{"aud":"a"}`), wantAud: "a"},
		{name: "lowercase scheme", authorization: "bearer " + jwt(jwtHeader, `{"sub":"s","aud":"a"}`), wantSub: "s", wantAud: "a"},
		{name: "other scheme", authorization: "Basic dXNlcjpwYXNz", wantSub: "none"},
		{name: "empty bearer", authorization: "Bearer ", wantSub: "invalid"},
		{name: "two segments", authorization: "Bearer " + strings.Join(strings.Split(jwt(jwtHeader, `{"sub":"s"}`), ".")[:2], "."), wantSub: "invalid"},
		{name: "five segments (JWE)", authorization: "Bearer a.b.c.d.e", wantSub: "invalid"},
		{name: "padded payload", authorization: "Bearer " + base64.RawURLEncoding.EncodeToString([]byte(jwtHeader)) + "." +
			base64.URLEncoding.EncodeToString([]byte(`{"sub":"s"}`)) + ".sig", wantSub: "invalid"},
		{name: "payload not base64url", authorization: "Bearer " + base64.RawURLEncoding.EncodeToString([]byte(jwtHeader)) + ".a+b/c.sig", wantSub: "invalid"},
		{name: "payload not JSON", authorization: "Bearer " + jwt(jwtHeader, `sub=s`), wantSub: "invalid"},
		{name: "payload a JSON array", authorization: "Bearer " + jwt(jwtHeader, `["s"]`), wantSub: "invalid"},
		{name: "header not JSON", authorization: "Bearer " + jwt(`RS256`, `{"sub":"s"}`), wantSub: "invalid"},
		{name: "sub not a string", authorization: "Bearer " + jwt(jwtHeader, `{"sub":42}`), wantSub: "invalid"},
		{name: "aud list with a number", authorization: "Bearer " + jwt(jwtHeader, `{"sub":"s","aud":["a",1]}`), wantSub: "invalid"},
		{name: "aud an object", authorization: "Bearer " + jwt(jwtHeader, `{"sub":"s","aud":{"a":1}}`), wantSub: "invalid"},
		{name: "sender's own extensions replaced", extra: map[string]string{"tokensub": "forged", "tokenaud": "forged"}, wantSub: "none"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := receiver.New(t, receiver.WithTokenExtension("token"))
			status, err := post(t, http.DefaultClient, r.URL, "e1", tc.authorization, tc.extra)
			if err != nil || status != http.StatusAccepted {
				t.Fatalf("sending: status %d, error %v", status, err)
			}
			events := r.Events()
			if len(events) != 1 {
				t.Fatalf("got %d events, want 1", len(events))
			}
			for ext, want := range map[string]string{"tokensub": tc.wantSub, "tokenaud": tc.wantAud} {
				got, ok := extension(events[0], ext)
				if want == "" && ok {
					t.Errorf("extension %s = %q, want none", ext, got)
				} else if want != "" && got != want {
					t.Errorf("extension %s = %q, want %q", ext, got, want)
				}
			}
		})
	}
}

// TestTokenExtensionOff checks that without the option a token changes
// nothing about the recorded event, so the receivers of other tests keep
// their exact events.
func TestTokenExtensionOff(t *testing.T) {
	r := receiver.New(t)
	auth := "Bearer " + jwt(jwtHeader, `{"sub":"s","aud":"a"}`)
	if status, err := post(t, http.DefaultClient, r.URL, "e1", auth, nil); err != nil || status != http.StatusAccepted {
		t.Fatalf("sending: status %d, error %v", status, err)
	}
	if got := r.Events()[0].Extensions(); len(got) != 0 {
		t.Errorf("extensions %v, want none", got)
	}
}

func TestTokenExtensionName(t *testing.T) {
	tests := []struct {
		name    string
		wantErr bool
	}{
		{name: "token"},
		{name: "oidc2"},
		{name: "Token", wantErr: true},
		{name: "tok-en", wantErr: true},
		{name: "tok_en", wantErr: true},
		{name: "tokén", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := receiver.Start("", receiver.WithTokenExtension(tc.name))
			if err == nil {
				r.Stop()
			}
			if (err != nil) != tc.wantErr {
				t.Errorf("Start with token extension %q: error %v, want error %v", tc.name, err, tc.wantErr)
			}
		})
	}
}

// TestTLS: the receiver's certificate (for 127.0.0.1 and localhost) is
// signed by a CA of the test's; the trusting client has that CA in its
// RootCAs, the untrusting one no CA at all.
func TestTLS(t *testing.T) {
	ca := testca.New(t)
	r := receiver.New(t, receiver.WithTLS(ca.TLSCertificate(t, "127.0.0.1", "localhost")), receiver.WithTokenExtension("token"))
	if !strings.HasPrefix(r.URL, "https://") {
		t.Fatalf("URL %s, want https://", r.URL)
	}
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	untrusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}}
	t.Cleanup(trusting.CloseIdleConnections)
	t.Cleanup(untrusting.CloseIdleConnections)
	auth := "Bearer " + jwt(jwtHeader, `{"sub":"sender","aud":["`+r.URL+`"]}`)

	tests := []struct {
		name       string
		client     *http.Client
		url        string
		wantStatus int  // when the request gets an answer
		wantX509   bool // the client refuses the certificate instead
	}{
		{name: "trusting client", client: trusting, url: r.URL, wantStatus: http.StatusAccepted},
		{name: "client not trusting the certificate", client: untrusting, url: r.URL, wantX509: true},
		// Go's server answers plain HTTP on a TLS port with 400, and the
		// event must not count.
		{name: "plain HTTP", client: http.DefaultClient, url: "http://" + strings.TrimPrefix(r.URL, "https://"), wantStatus: http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, err := post(t, tc.client, tc.url, tc.name, auth, nil)
			var unknown x509.UnknownAuthorityError
			switch {
			case tc.wantX509:
				if !errors.As(err, &unknown) {
					t.Errorf("got status %d, error %v; want an unknown-authority error", status, err)
				}
			case err != nil || status != tc.wantStatus:
				t.Errorf("got status %d, error %v; want status %d", status, err, tc.wantStatus)
			}
		})
	}

	events := r.Events()
	if len(events) != 1 || events[0].ID() != "trusting client" {
		t.Fatalf("got %d events (%v), want only the trusting client's", len(events), events)
	}
	for ext, want := range map[string]string{"tokensub": "sender", "tokenaud": r.URL} {
		if got, _ := extension(events[0], ext); got != want {
			t.Errorf("extension %s = %q, want %q", ext, got, want)
		}
	}
}

// syncBuffer is a bytes.Buffer the server's goroutines can log into.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestTLSProbeNotLogged checks that a connection closed before any
// handshake, as a tcpSocket readiness probe's, logs nothing, while a
// client refusing the certificate still does.
func TestTLSProbeNotLogged(t *testing.T) {
	var logged syncBuffer
	out := log.Writer()
	log.SetOutput(&logged)
	t.Cleanup(func() { log.SetOutput(out) })
	r := receiver.New(t, receiver.WithTLS(testca.New(t).TLSCertificate(t, "127.0.0.1", "localhost")))

	probe, err := net.Dial("tcp", strings.TrimPrefix(r.URL, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	_ = probe.Close()
	untrusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}}
	if _, err := post(t, untrusting, r.URL, "e1", "", nil); err == nil {
		t.Fatal("a client not trusting the certificate got an answer")
	}
	// The refused handshake's line comes; the probe's, if it were logged,
	// would come at about the same time.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logged.String(), "bad certificate") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	got := logged.String()
	if !strings.Contains(got, "bad certificate") {
		t.Errorf("the refused handshake was not logged; log:\n%s", got)
	}
	if strings.Contains(got, "EOF") {
		t.Errorf("the probe's connection was logged:\n%s", got)
	}
}
