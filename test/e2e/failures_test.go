//go:build e2e

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

package e2e

import (
	"testing"
)

// TestPodThatCannotStart: when Tekton fails a TaskRun because its pod
// cannot start, no step ran, although the containers whose image was
// there show a start: every step is skipped with Tekton's reason, none is
// started. The local cluster pulls from nowhere (127.0.0.1:9), so an image
// it was not given cannot be pulled.
func TestPodThatCannotStart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, second, reason string
	}{{
		name:   "unpullable",
		second: `{name: second, image: "tss.local/does-not-exist:v1", script: "echo never"}`,
		reason: "TaskRunImagePullFailed",
	}, {
		name: "missing-secret",
		second: `{name: second, image: "{{.Image}}", script: "echo never",
       env: [{name: TOKEN, valueFrom: {secretKeyRef: {name: absent, key: token}}}]}`,
		reason: "CreateContainerConfigError",
	}}
	ns := newNamespace(t)
	newSource(t, ns, "steps", "")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			apply(t, ns, `
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: `+tc.name+`
spec:
  taskSpec:
    steps:
    - {name: first, image: "{{.Image}}", script: "echo ran"}
    - `+tc.second+`
`)
			tr := waitTaskRun(t, ns, tc.name)
			if r := tr.Status.GetCondition("Succeeded").Reason; r != tc.reason {
				t.Fatalf("TaskRun reason %s, want %s", r, tc.reason)
			}
			assertEvents(t, tr, eventsOf(t, ns, tc.name, 2), []want{
				{transition: "skipped", step: "first", reason: tc.reason},
				{transition: "skipped", step: "second", reason: tc.reason},
			})
		})
	}
}
