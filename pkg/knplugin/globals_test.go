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
		name:    "--as-uid is sent with the user",
		args:    []string{"list", "-n", ns, "--as", "alice", "--as-uid", "1234"},
		wantErr: `User "alice" cannot list`,
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
