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
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"sync"
)

// credentialHeaders are starred out in what --log-http writes (kn's own
// list, and Set-Cookie of answers): client-go adds the bearer token below
// the plugin's transport wrapper, so the requests it sees carry it.
var credentialHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "WWW-Authenticate", "Set-Cookie"}

// httpLog writes each request to the apiserver and its answer to out, in
// the form of kn's --log-http (knative.dev/client's LoggingHttpTransport),
// one whole entry at a time: client-go's discovery sends requests from
// several goroutines.
type httpLog struct {
	next http.RoundTripper
	out  io.Writer
	mu   sync.Mutex
}

func starred(h http.Header) http.Header {
	h = h.Clone()
	for _, name := range credentialHeaders {
		if h.Get(name) != "" {
			h.Set(name, "********")
		}
	}
	return h
}

func (l *httpLog) RoundTrip(r *http.Request) (*http.Response, error) {
	shown := r.Clone(r.Context())
	shown.Header = starred(r.Header)
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
	var entry bytes.Buffer
	dump, err := httputil.DumpRequestOut(shown, withBody)
	if err != nil {
		dump = []byte(fmt.Sprintf("%s %s (not shown: %v)", r.Method, r.URL, err))
	}
	fmt.Fprintln(&entry, "===== REQUEST =====")
	fmt.Fprintln(&entry, string(dump))
	resp, err := l.next.RoundTrip(r)
	if err != nil {
		fmt.Fprintln(&entry, "===== ERROR =====")
		fmt.Fprintln(&entry, err)
	} else {
		header := resp.Header
		resp.Header = starred(header)
		answer, _ := httputil.DumpResponse(resp, true)
		resp.Header = header
		fmt.Fprintln(&entry, "===== RESPONSE =====")
		fmt.Fprintln(&entry, string(answer))
		fmt.Fprintln(&entry, " * * * * * *")
	}
	l.mu.Lock()
	_, _ = l.out.Write(entry.Bytes())
	l.mu.Unlock()
	return resp, err
}
