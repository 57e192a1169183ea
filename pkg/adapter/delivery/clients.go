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
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"golang.org/x/net/http/httpguts"
	"knative.dev/eventing/pkg/adapter/v2"
	"knative.dev/eventing/pkg/kncloudevents/attributes"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// This file builds the CloudEvents clients of the sink and the dead-letter
// sink, and records what each request was answered: the CloudEvents SDK's
// result has the status only, while the retry policy needs Retry-After
// and the dead-letter sink the start of the body.

// NewClients builds the sink's client from adapter/v2's client
// configuration (its environment: K_SINK, K_CA_CERTS, K_AUDIENCE,
// K_CE_OVERRIDES, K_SINK_TIMEOUT; its OIDC token provider and reporter) and, when deadLetter is set, the dead-letter sink's client
// from the same configuration with deadLetter's URL, CA certificates and
// audience. Both record each request's answer for the adapter and follow
// only the redirects that keep the event (keepTheEventOnRedirects).
func NewClients(cc adapter.ClientConfig, deadLetter *duckv1.Addressable) (sink, dls cloudevents.Client, err error) {
	cc.Options = append(append([]cehttp.Option(nil), cc.Options...), cehttp.WithRoundTripperDecorator(recordAnswers), keepTheEventOnRedirects)
	if sink, err = adapter.NewClient(cc); err != nil || deadLetter == nil {
		return sink, nil, err
	}
	cc.Env = deadLetterEnv{EnvConfigAccessor: cc.Env, addr: *deadLetter}
	dls, err = adapter.NewClient(cc)
	return sink, dls, err
}

// maxRedirects is how many redirects one send follows, as Go's client's
// default policy does.
const maxRedirects = 10

// keepTheEventOnRedirects sets the client's redirect policy: a 307 or 308
// keeps the method and body and is followed, as Knative's dispatcher
// does; a 301, 302 or 303 would make Go's client repeat the request as a
// GET without the event, and a URL that answers that GET 2xx would count
// as having accepted an event it never got. A redirect from an https URL
// to an http one is not followed either: the event, and the OIDC token
// with it, would go in clear to wherever the redirect points, which the
// sink's https address was chosen to prevent. Such a redirect's own
// answer is the send's answer instead: a refusal retrying cannot change,
// so the event is dead-lettered or rejected, never lost.
func keepTheEventOnRedirects(p *cehttp.Protocol) error {
	if p.Client == nil {
		p.Client = &http.Client{}
	}
	p.Client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.Method != via[len(via)-1].Method || (via[0].URL.Scheme == "https" && req.URL.Scheme != "https") {
			return http.ErrUseLastResponse
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		return nil
	}
	return nil
}

// deadLetterEnv is the adapter's environment with the dead-letter sink in
// place of the sink.
type deadLetterEnv struct {
	adapter.EnvConfigAccessor
	addr duckv1.Addressable
}

func (e deadLetterEnv) GetSink() string     { return e.addr.URL.String() }
func (e deadLetterEnv) GetCACerts() *string { return e.addr.CACerts }

// GetAudience is the dead-letter sink's OIDC audience, nil when it has
// none. adapter/v2 attaches a token whenever it is given an audience, and
// a token for an empty audience is for no receiver: once OIDC is on,
// every dead-letter sink that checks tokens would refuse every send.
func (e deadLetterEnv) GetAudience() *string {
	if e.addr.Audience == nil || *e.addr.Audience == "" {
		return nil
	}
	return e.addr.Audience
}

// answerBodyMax is how much of an error answer's body is kept: what
// base64-encodes to knativeerrordata's 1,024 characters.
const answerBodyMax = attributes.KnativeErrorDataExtensionMaxLength / 4 * 3

type answerKey struct{}

// withAnswer returns a context whose request records its answer in a.
func withAnswer(ctx context.Context, a *Answer) context.Context {
	return context.WithValue(ctx, answerKey{}, a)
}

// recordAnswers decorates the clients' transport: a request whose context
// carries an answer (withAnswer) records its URL, status, Retry-After and,
// for a failure, the start of its body (which the client still reads
// whole).
func recordAnswers(next http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		a, _ := req.Context().Value(answerKey{}).(*Answer)
		if a != nil {
			// Each request of a send (a followed redirect is another)
			// starts afresh.
			*a = Answer{Dest: *req.URL}
		}
		if err := carriable(req.Header); err != nil {
			// net/http would refuse it the same way, every time, and as a
			// failure that looks like the network's.
			if a != nil {
				a.Local = err
			}
			return nil, err
		}
		resp, err := next.RoundTrip(req)
		if refused := untrusted(req.URL.Host, err); refused != nil {
			// The TLS handshake failed before the request was written.
			if a != nil {
				a.Local = refused
			}
			return nil, refused
		}
		if a == nil || resp == nil {
			return resp, err
		}
		a.Status, a.RetryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
		if resp.StatusCode >= 300 && resp.Body != nil {
			head, _ := io.ReadAll(io.LimitReader(resp.Body, answerBodyMax))
			a.Body = head
			resp.Body = readCloser{Reader: io.MultiReader(bytes.NewReader(head), resp.Body), Closer: resp.Body}
		}
		return resp, err
	})
}

// carriable checks the request's headers as net/http's transport does
// before it sends anything: in binary mode every CloudEvents attribute is
// a header (Ce-<name>), so an attribute value with a control character, a
// newline from a YAML block scalar among them, cannot be sent.
func carriable(h http.Header) error {
	for name, values := range h {
		if !httpguts.ValidHeaderFieldName(name) {
			return fmt.Errorf("the header name %q cannot be sent over HTTP", name)
		}
		for _, v := range values {
			if !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Errorf("the value of header %s, %q, cannot be sent over HTTP (a control character: CloudEvents attribute values may not have them)", name, v)
			}
		}
	}
	return nil
}

// untrusted is the error of a request refused because the TLS
// certificate of host did not verify against the CA certificates of its
// address (K_CA_CERTS, the addressable's CACerts) and the system pool, or
// because host does not speak TLS as the adapter requires (an http port,
// a TLS version below Knative's minimum, 1.3), said in words; nil for any
// other error. Each is the same on every attempt until someone changes
// the sink or its CA certificates, so it is a failure retrying cannot
// change, as one that never left the process (Answer.Local). The send is not tried
// over http instead: the sink's https address says the event must not go
// in clear.
func untrusted(host string, err error) error {
	var (
		unknownCA    x509.UnknownAuthorityError
		wrongName    x509.HostnameError
		invalid      x509.CertificateInvalidError
		verification *tls.CertificateVerificationError
		notTLS       tls.RecordHeaderError
		// crypto/tls reports an alert the server sent as an OpError
		// "remote error" (tls.AlertError is QUIC's).
		remote *net.OpError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &unknownCA):
		return fmt.Errorf("the TLS certificate of %s is not trusted (its CA is not among its address's CACerts or the system pool): %w", host, err)
	case errors.As(err, &wrongName):
		return fmt.Errorf("the TLS certificate of %s is not valid for that host name: %w", host, err)
	case errors.As(err, &invalid), errors.As(err, &verification):
		return fmt.Errorf("the TLS certificate of %s does not verify: %w", host, err)
	case errors.As(err, &notTLS):
		return fmt.Errorf("%s does not answer TLS (an https address of a plain http port?): %w", host, err)
	case errors.As(err, &remote) && remote.Op == "remote error":
		return fmt.Errorf("%s refused the TLS handshake (the adapter requires TLS 1.3, as Knative does): %w", host, err)
	}
	return nil
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

type readCloser struct {
	io.Reader
	io.Closer
}

// deadLettered is the event as the dead-letter sink gets it: with Knative's
// error extensions (kncloudevents' own transformers) naming the sink's URL,
// its status (500 when it gave none, as Knative's dispatcher says) and the
// start of its answer, base64-encoded; without an answer, the error.
func deadLettered(ctx context.Context, event cloudevents.Event, a Answer, sendErr error) (*cloudevents.Event, error) {
	code, body := a.Status, a.Body
	if code == 0 {
		code = http.StatusInternalServerError
		if sendErr != nil {
			body = []byte("dispatch error: " + sendErr.Error())
		}
	}
	data := base64.StdEncoding.EncodeToString(body)
	msg := binding.ToMessage(&event)
	defer msg.Finish(nil)
	return binding.ToEvent(ctx, msg, attributes.KnativeErrorTransformers(a.Dest, code, data))
}
