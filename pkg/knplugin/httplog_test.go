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
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHTTPLog: --log-http shows each request and its answer, with the
// credentials starred out, and the server still gets the request whole.
func TestHTTPLog(t *testing.T) {
	var gotBody, gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotBody, gotAuth = string(b), r.Header.Get("Authorization")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"kind":"TektonStepSource"}`))
	}))
	defer srv.Close()
	var out bytes.Buffer
	client := &http.Client{Transport: &httpLog{next: http.DefaultTransport, out: &out}}
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/apis/sources.knative.dev/v1alpha1", strings.NewReader(`{"spec":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer secret-token")
	req.Header.Set("Cookie", "session=secret-cookie")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	if gotBody != `{"spec":{}}` || gotAuth != "Bearer secret-token" {
		t.Errorf("the server got body %q and Authorization %q, want the request's own", gotBody, gotAuth)
	}
	if string(answer) != `{"kind":"TektonStepSource"}` {
		t.Errorf("the caller read %q, want the server's answer", answer)
	}
	log := out.String()
	for _, want := range []string{"===== REQUEST =====", "POST /apis/sources.knative.dev/v1alpha1", `{"spec":{}}`,
		"Authorization: ********", "Cookie: ********", "===== RESPONSE =====", "201 Created", `{"kind":"TektonStepSource"}`} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
	for _, secret := range []string{"secret-token", "secret-cookie"} {
		if strings.Contains(log, secret) {
			t.Errorf("the log shows %q:\n%s", secret, log)
		}
	}
}
