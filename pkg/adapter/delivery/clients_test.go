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

package delivery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"knative.dev/eventing/pkg/adapter/v2"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/tektonstep/tekton-step-source/test/receiver"
	"github.com/tektonstep/tekton-step-source/test/testca"
)

// TestSenderTLS: clients built by NewClients send to https sinks whose
// certificate verifies against their CACerts; a certificate that does not
// verify is a failure retrying cannot change, with an error that says so,
// and nothing goes out in clear instead. The sink and the dead-letter sink
// are real TLS servers; the certificate of each "untrusted" one is checked
// against another CA than its own.
func TestSenderTLS(t *testing.T) {
	const notTrusted = "is not trusted (its CA is not among its address's CACerts or the system pool)"
	const unknownCA = "x509: certificate signed by unknown authority"
	one := int32(1)
	type step struct {
		want   Kind
		target string
		why    string
	}
	tests := []struct {
		name string
		// untrusted: the sink's CACerts hold another CA than its server's;
		// byName: the sink is addressed as localhost, a name its
		// certificate (for 127.0.0.1, ::1 and example.com) does not have.
		untrusted, byName bool
		// sinkAnswers: the sink's status for every request (0: accept);
		// redirectToHTTP: it answers 307 to a plain http receiver.
		sinkAnswers    int
		redirectToHTTP bool
		// dls: "" none, "http" a plain receiver, "untrusted" a TLS server
		// whose CACerts hold another CA than its own.
		dls   string
		retry *int32
		steps []step
		// wantErr: in the last step's error; wantData: in the
		// knativeerrordata of what reached the http dead-letter sink.
		wantErr    []string
		wantStatus int
		wantData   []string
	}{{
		name:  "the sink's CA in its CACerts: delivered",
		steps: []step{{Delivered, TargetSink, ""}},
	}, {
		name:      "an untrusted certificate without a dead-letter sink: rejected at once",
		untrusted: true,
		steps:     []step{{Rejected, TargetSink, "a failure retrying cannot change"}},
		wantErr:   []string{notTrusted, unknownCA},
	}, {
		name:      "an untrusted certificate with a dead-letter sink: dead-lettered at once, the TLS error in knativeerrordata",
		untrusted: true,
		dls:       "http",
		steps:     []step{{ToDeadLetter, TargetSink, ""}, {DeadLettered, TargetDeadLetter, ""}},
		wantData:  []string{"dispatch error: ", notTrusted, unknownCA},
	}, {
		name:      "an untrusted certificate with retry 1: retried once, then dead-lettered",
		untrusted: true,
		dls:       "http",
		retry:     &one,
		steps:     []step{{Retry, TargetSink, ""}, {ToDeadLetter, TargetSink, ""}, {DeadLettered, TargetDeadLetter, ""}},
		wantData:  []string{notTrusted, unknownCA},
	}, {
		name:      "an untrusted certificate with retry 1 without a dead-letter sink: rejected after the last",
		untrusted: true,
		retry:     &one,
		steps:     []step{{Retry, TargetSink, ""}, {Rejected, TargetSink, "the last of 2 attempts (spec.delivery.retry)"}},
		wantErr:   []string{notTrusted, unknownCA},
	}, {
		name:    "a certificate for another name: rejected at once",
		byName:  true,
		steps:   []step{{Rejected, TargetSink, "a failure retrying cannot change"}},
		wantErr: []string{"is not valid for that host name", "x509: certificate is valid for"},
	}, {
		name:        "an untrusted dead-letter sink: rejected",
		sinkAnswers: http.StatusBadRequest,
		dls:         "untrusted",
		steps:       []step{{ToDeadLetter, TargetSink, ""}, {Rejected, TargetDeadLetter, "a failure retrying cannot change"}},
		wantErr:     []string{notTrusted, unknownCA},
	}, {
		name:           "a redirect from https to http without a dead-letter sink: not followed, rejected",
		redirectToHTTP: true,
		steps:          []step{{Rejected, TargetSink, "an answer retrying cannot change"}},
		wantStatus:     http.StatusTemporaryRedirect,
	}, {
		name:           "a redirect from https to http with a dead-letter sink: not followed, dead-lettered",
		redirectToHTTP: true,
		dls:            "http",
		steps:          []step{{ToDeadLetter, TargetSink, ""}, {DeadLettered, TargetDeadLetter, ""}},
		wantStatus:     http.StatusTemporaryRedirect,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plain := receiver.New(t)
			sink, sinkGot := tlsServer(t, func(w http.ResponseWriter, r *http.Request) {
				switch {
				case tc.redirectToHTTP:
					http.Redirect(w, r, plain.URL, http.StatusTemporaryRedirect)
				case tc.sinkAnswers != 0:
					w.WriteHeader(tc.sinkAnswers)
				default:
					w.WriteHeader(http.StatusAccepted)
				}
			})
			sinkCA := caPEM(sink.Certificate())
			if tc.untrusted {
				sinkCA = testca.New(t).PEM()
			}
			spec := &eventingduckv1.DeliverySpec{Retry: tc.retry}
			var dlsAddr *duckv1.Addressable
			var dlsGot *atomic.Int32
			switch tc.dls {
			case "http":
				dlsAddr = &duckv1.Addressable{URL: apis.HTTP(strings.TrimPrefix(plain.URL, "http://"))}
			case "untrusted":
				var dls *httptest.Server
				dls, dlsGot = tlsServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) })
				dlsAddr = &duckv1.Addressable{URL: apis.HTTPS(dls.Listener.Addr().String()), CACerts: ptrTo(testca.New(t).PEM())}
			}
			if dlsAddr != nil {
				spec.DeadLetterSink = &duckv1.Destination{URI: dlsAddr.URL}
			}
			sinkURL := sink.URL
			if tc.byName {
				sinkURL = strings.Replace(sinkURL, "127.0.0.1", "localhost", 1)
			}
			s := tlsSender(t, sinkURL, sinkCA, dlsAddr, spec)
			event := testEvent()
			var (
				fate       Fate
				first, out Outcome
			)
			for i, st := range tc.steps {
				out = s.Send(context.Background(), event, &fate)
				if out.Kind != st.want || out.Target != st.target || out.Why != st.why {
					t.Fatalf("step %d: outcome %+v, want kind %v to the %s (why %q)", i, out, st.want, st.target, st.why)
				}
				if i == 0 {
					first = out
				}
			}
			for _, want := range tc.wantErr {
				if out.Err == nil || !strings.Contains(out.Err.Error(), want) || !strings.Contains(fmt.Sprint(out.Answer.Local), want) {
					t.Errorf("error %v (local: %v), want it to say %q", out.Err, out.Answer.Local, want)
				}
			}
			if tc.wantStatus != 0 && (first.Answer.Status != tc.wantStatus || first.Answer.Dest.String() != sink.URL) {
				t.Errorf("the sink's answer: %d from %s, want %d from %s", first.Answer.Status, &first.Answer.Dest, tc.wantStatus, sink.URL)
			}
			if n := sinkGot.Load(); (tc.untrusted || tc.byName) && n != 0 {
				t.Errorf("the untrusted sink's server got %d requests, want none", n)
			}
			if dlsGot != nil && dlsGot.Load() != 0 {
				t.Errorf("the untrusted dead-letter sink's server got %d requests, want none", dlsGot.Load())
			}
			// The plain receiver gets only what is dead-lettered there:
			// never the event a redirect pointed to it.
			wantPlain := 0
			if tc.dls == "http" {
				wantPlain = 1
			}
			got := plain.Events()
			if len(got) != wantPlain {
				t.Fatalf("the plain http receiver got %d events, want %d", len(got), wantPlain)
			}
			for _, e := range got {
				ext := e.Extensions()
				code := fmt.Sprint(ext["knativeerrorcode"])
				if tc.wantStatus != 0 && code != fmt.Sprint(tc.wantStatus) {
					t.Errorf("knativeerrorcode %s, want %d", code, tc.wantStatus)
				}
				if tc.wantData == nil {
					continue
				}
				if code != "500" {
					t.Errorf("knativeerrorcode %s, want 500", code)
				}
				data, err := base64.StdEncoding.DecodeString(fmt.Sprint(ext["knativeerrordata"]))
				if err != nil {
					t.Fatalf("knativeerrordata: %v", err)
				}
				for _, want := range tc.wantData {
					if !strings.Contains(string(data), want) {
						t.Errorf("knativeerrordata %q, want it to say %q", data, want)
					}
				}
				if dest := fmt.Sprint(ext["knativeerrordest"]); dest != sink.URL {
					t.Errorf("knativeerrordest %s, want %s", dest, sink.URL)
				}
			}
		})
	}
}

// TestRedirectWithinHTTPS: a 307 from an https sink to another https URL
// is still followed with the event, verified as the first.
func TestRedirectWithinHTTPS(t *testing.T) {
	var moved atomic.Int32
	sink, _ := tlsServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/", http.StatusTemporaryRedirect)
			return
		}
		if r.Header.Get("Ce-Id") == "e-1" {
			moved.Add(1)
		}
		w.WriteHeader(http.StatusAccepted)
	})
	s := tlsSender(t, sink.URL+"/moved", caPEM(sink.Certificate()), nil, nil)
	if out := s.Send(context.Background(), testEvent(), &Fate{}); out.Kind != Delivered || moved.Load() != 1 {
		t.Errorf("outcome %+v, %d events where the redirect points: want delivered there once", out, moved.Load())
	}
}

// TestDeadLetterAudience: the dead-letter sink's client asks for an OIDC
// token only for an audience that names something.
func TestDeadLetterAudience(t *testing.T) {
	for _, tc := range []struct {
		name     string
		audience *string
		want     *string
	}{
		{"none", nil, nil},
		{"empty", ptrTo(""), nil},
		{"set", ptrTo("https://dls.example"), ptrTo("https://dls.example")},
	} {
		got := deadLetterEnv{addr: duckv1.Addressable{Audience: tc.audience}}.GetAudience()
		if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
			t.Errorf("%s: GetAudience() = %s, want %s", tc.name, orNil(got), orNil(tc.want))
		}
	}
}

func orNil(s *string) string {
	if s == nil {
		return "nil"
	}
	return fmt.Sprintf("%q", *s)
}

// tlsServer starts an https server (httptest's certificate, for
// 127.0.0.1) with handler, counting the requests that reach it.
func tlsServer(t *testing.T, handler http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	var got atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		handler(w, r)
	}))
	// The refused handshakes are the point; their log is noise.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &got
}

// tlsSender is a Sender with clients built by NewClients, as the adapter
// builds them: the sink at url trusting the CA certificates caCerts, and
// the dead-letter sink dls (nil: none).
func tlsSender(t *testing.T, url, caCerts string, dls *duckv1.Addressable, spec *eventingduckv1.DeliverySpec) *Sender {
	t.Helper()
	env := &adapter.EnvConfig{Sink: url, CACerts: &caCerts, EnvSinkTimeout: "0"}
	sink, dlsClient, err := NewClients(adapter.ClientConfig{Env: env}, dls)
	if err != nil {
		t.Fatal(err)
	}
	policy, err := NewPolicy(spec)
	if err != nil {
		t.Fatal(err)
	}
	return NewSender(sink, dlsClient, policy, 5*time.Second, time.Millisecond, 10*time.Millisecond)
}

func testEvent() cloudevents.Event {
	event := cloudevents.NewEvent()
	event.SetID("e-1")
	event.SetType("dev.tekton.event.step.started.v1")
	event.SetSource("/test")
	return event
}

func caPEM(cert *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
}

// TestSenderTLSHandshake: an https sink that does not answer TLS, or only
// below Knative's minimum (TLS 1.3), is refused as an untrusted
// certificate is: the same on every attempt, so rejected at once without
// delivery.retry, never sent in clear, and said in words.
func TestSenderTLSHandshake(t *testing.T) {
	tests := []struct {
		name    string
		start   func(*httptest.Server)
		wantErr []string
	}{{
		name:    "a plain http port behind an https address",
		start:   func(s *httptest.Server) { s.Start() },
		wantErr: []string{"does not answer TLS (an https address of a plain http port?)", "first record does not look like a TLS handshake"},
	}, {
		name: "a server that speaks TLS 1.2 at most",
		start: func(s *httptest.Server) {
			s.TLS = &tls.Config{MaxVersion: tls.VersionTLS12}
			s.StartTLS()
		},
		wantErr: []string{"refused the TLS handshake (the adapter requires TLS 1.3, as Knative does)", "protocol version"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got atomic.Int32
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				got.Add(1)
				w.WriteHeader(http.StatusAccepted)
			}))
			srv.Config.ErrorLog = log.New(io.Discard, "", 0)
			tc.start(srv)
			t.Cleanup(srv.Close)
			s := tlsSender(t, "https://"+srv.Listener.Addr().String(), testca.New(t).PEM(), nil, nil)
			var fate Fate
			out := s.Send(context.Background(), testEvent(), &fate)
			if out.Kind != Rejected || out.Why != "a failure retrying cannot change" {
				t.Fatalf("outcome %+v, want rejected at once", out)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(fmt.Sprint(out.Answer.Local), want) {
					t.Errorf("error %v, want it to say %q", out.Answer.Local, want)
				}
			}
			if n := got.Load(); n != 0 {
				t.Errorf("the server got %d requests, want none", n)
			}
		})
	}
}
