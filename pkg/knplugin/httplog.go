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

package knplugin

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
)

// credentialHeaders are starred out in what --log-http writes (kn's own
// list): client-go adds the bearer token below the plugin's transport
// wrapper, so the requests it sees carry it.
var credentialHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "WWW-Authenticate"}

// httpLog writes each request to the apiserver and its answer to out, in
// the form of kn's --log-http (knative.dev/client's LoggingHttpTransport).
type httpLog struct {
	next http.RoundTripper
	out  io.Writer
}

func (l *httpLog) RoundTrip(r *http.Request) (*http.Response, error) {
	shown := r.Clone(r.Context())
	for _, h := range credentialHeaders {
		if shown.Header.Get(h) != "" {
			shown.Header.Set(h, "********")
		}
	}
	// The body is dumped from a copy: the request's own is sent.
	withBody := false
	if r.Body != nil && r.GetBody != nil {
		if body, err := r.GetBody(); err == nil {
			shown.Body, withBody = body, true
		}
	}
	if !withBody {
		shown.Body = nil
	}
	dump, err := httputil.DumpRequestOut(shown, withBody)
	if err != nil {
		dump = []byte(fmt.Sprintf("%s %s (not shown: %v)", r.Method, r.URL, err))
	}
	fmt.Fprintln(l.out, "===== REQUEST =====")
	fmt.Fprintln(l.out, string(dump))
	resp, err := l.next.RoundTrip(r)
	if err != nil {
		fmt.Fprintln(l.out, "===== ERROR =====")
		fmt.Fprintln(l.out, err)
		return resp, err
	}
	answer, _ := httputil.DumpResponse(resp, true)
	fmt.Fprintln(l.out, "===== RESPONSE =====")
	fmt.Fprintln(l.out, string(answer))
	fmt.Fprintln(l.out, " * * * * * *")
	return resp, nil
}
