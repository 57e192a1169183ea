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
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGlobalOptions: kn passes its global options (`kn options`) on to
// plugins; the plugin takes them as kn's own source commands do, against
// the local apiserver.
func TestGlobalOptions(t *testing.T) {
	ns := cp.NewNamespace(t)
	tests := []struct {
		name    string
		args    []string
		want    []string
		wantErr string
	}{{
		name:    "--as impersonates a user, whom the apiserver's RBAC refuses",
		args:    []string{"list", "-n", ns, "--as", "alice"},
		wantErr: `User "alice" cannot list resource "tektonstepsources"`,
	}, {
		name: "--as-group impersonates groups too (system:masters may list)",
		args: []string{"list", "-n", ns, "--as", "alice", "--as-group", "system:authenticated", "--as-group", "system:masters"},
		want: []string{"No Tekton step sources found."},
	}, {
		name: "--as-uid is sent with the user",
		args: []string{"list", "-n", ns, "--as", "alice", "--as-group", "system:masters", "--as-uid", "1234", "--log-http"},
		want: []string{"Impersonate-Uid: 1234", "Impersonate-User: alice"},
	}, {
		name: "--log-http shows the requests and answers",
		args: []string{"list", "-n", ns, "--log-http"},
		want: []string{"===== REQUEST =====", "GET /apis/sources.knative.dev/v1alpha1/namespaces/" + ns + "/tektonstepsources",
			"===== RESPONSE =====", "200 OK"},
	}, {
		name:    "--cluster names a cluster of the kubeconfig",
		args:    []string{"list", "-n", ns, "--cluster", "no-such-cluster"},
		wantErr: "no-such-cluster",
	}, {
		name:    "--context names a context of the kubeconfig",
		args:    []string{"list", "-n", ns, "--context", "no-such-context"},
		wantErr: "no-such-context",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := kn(t, tc.args...)
			switch {
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one saying %q (output %s)", err, tc.wantErr, out)
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error %v (output %s)", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestOutputFormats: -o takes what kn's and kubectl's -o take
// (cli-runtime's printers), managed fields left out unless asked for.
func TestOutputFormats(t *testing.T) {
	ns := cp.NewNamespace(t)
	if _, err := kn(t, "create", "steps", "-n", ns, "--sink", "http://sink.example"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		args          []string
		want, notWant []string
	}{
		{name: "name", args: []string{"describe", "steps", "-o", "name"}, want: []string{"tektonstepsource.sources.knative.dev/steps"}},
		{name: "jsonpath", args: []string{"describe", "steps", "-o", "jsonpath={.spec.sink.uri}"}, want: []string{"http://sink.example"}},
		{name: "go-template", args: []string{"list", "-o", "go-template={{range .items}}{{.metadata.name}};{{end}}"}, want: []string{"steps;"}},
		{name: "--template", args: []string{"describe", "steps", "-o", "go-template", "--template", "{{.kind}}"}, want: []string{"TektonStepSource"}},
		{name: "yaml without managed fields", args: []string{"describe", "steps", "-o", "yaml"},
			want: []string{"kind: TektonStepSource", "apiVersion: sources.knative.dev/v1alpha1"}, notWant: []string{"managedFields"}},
		{name: "yaml with managed fields", args: []string{"describe", "steps", "-o", "yaml", "--show-managed-fields"},
			want: []string{"managedFields", "manager: kn-source-tektonstep"}},
		{name: "json list", args: []string{"list", "-o", "json"}, want: []string{`"kind": "TektonStepSourceList"`, `"name": "steps"`}},
	}
	two := filepath.Join(t.TempDir(), "two.yaml")
	if err := os.WriteFile(two, []byte(`apiVersion: sources.knative.dev/v1alpha1
kind: TektonStepSource
metadata: {name: first}
spec: {sink: {uri: "http://sink.example"}}
---
apiVersion: sources.knative.dev/v1alpha1
kind: TektonStepSource
metadata: {name: second}
spec: {sink: {uri: "http://sink.example"}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	// One printer for the command: two documents, one YAML stream.
	tests = append(tests, struct {
		name          string
		args          []string
		want, notWant []string
	}{name: "apply -f of two sources -o yaml", args: []string{"apply", "-f", two, "-o", "yaml"},
		want: []string{"name: first", "\n---\n", "name: second"}})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := kn(t, append(tc.args, "-n", ns)...)
			if err != nil {
				t.Fatalf("%v (output %s)", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestLogHTTPStarsTheBearerToken: the token client-go adds from the
// kubeconfig, below the plugin's wrapper, is starred out in --log-http.
func TestLogHTTPStarsTheBearerToken(t *testing.T) {
	const token = "the-secret-token-0123456789"
	var gotAuth string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"apiVersion":"sources.knative.dev/v1alpha1","kind":"TektonStepSourceList","items":[]}`))
	}))
	defer srv.Close()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: %q, insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: %q}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: ci}}]
current-context: x
`, srv.URL, token)
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := kn(t, "list", "--log-http", "--kubeconfig", kubeconfig)
	if err != nil {
		t.Fatalf("%v (output %s)", err, out)
	}
	if gotAuth != "Bearer "+token {
		t.Fatalf("the server got Authorization %q, want the kubeconfig's token", gotAuth)
	}
	if strings.Contains(out, token) || !strings.Contains(out, "Authorization: ********") {
		t.Errorf("the log shows the token, or no starred Authorization:\n%s", out)
	}
}
