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
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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

// TestStepResultsAndExitCodes: what a consumer needs without a second
// lookup is in the terminal events on real Tekton: a step's results, and
// a failed step's exit code.
func TestStepResultsAndExitCodes(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newSource(t, ns, "steps", "")
	apply(t, ns, `
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: results
spec:
  taskSpec:
    steps:
    - name: produce
      image: "{{.Image}}"
      results: [{name: digest}]
      script: 'printf sha256:0123abcd > $(step.results.digest.path)'
    - {name: exits, image: "{{.Image}}", onError: continue, script: "exit 3"}
`)
	tr := waitTaskRun(t, ns, "results")
	got := eventsOf(t, ns, "results", 4)
	assertEvents(t, tr, got, []want{
		{transition: "started", step: "produce"},
		{transition: "succeeded", step: "produce", log: ""},
		{transition: "started", step: "exits"},
		{transition: "failed", step: "exits", reason: "Continued", log: "", continued: true},
	})
	produced := eventData(got[1]).StepState
	if len(produced.Results) != 1 || produced.Results[0].Name != "digest" || produced.Results[0].Value.StringVal != "sha256:0123abcd" {
		t.Errorf("the succeeded event's stepState.results = %+v, want digest=sha256:0123abcd", produced.Results)
	}
	if term := eventData(got[3]).StepState.Terminated; term == nil || term.ExitCode != 3 {
		t.Errorf("the failed event's stepState.terminated = %+v, want exit code 3", term)
	}
}

// TestOnErrorStopAndFail: `onError: stopAndFail` (Tekton's default, written
// out) fails the step and skips the rest, as a plain failure does.
func TestOnErrorStopAndFail(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newSource(t, ns, "steps", "")
	apply(t, ns, `
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: stop
spec:
  taskSpec:
    steps:
    - {name: breaks, image: "{{.Image}}", onError: stopAndFail, script: "echo broken; exit 2"}
    - {name: after, image: "{{.Image}}", script: "echo never"}
`)
	tr := waitTaskRun(t, ns, "stop")
	got := eventsOf(t, ns, "stop", 3)
	assertEvents(t, tr, got, []want{
		{transition: "started", step: "breaks"},
		{transition: "failed", step: "breaks", log: "broken\n"},
		{transition: "skipped", step: "after", reason: "Skipped"},
	})
	if term := eventData(got[1]).StepState.Terminated; term == nil || term.ExitCode != 2 {
		t.Errorf("the failed event's stepState.terminated = %+v, want exit code 2", term)
	}
}

// TestPendingTaskRun: a TaskRun created `spec.status: TaskRunPending` runs
// nothing until it is started; then its steps start, no earlier.
func TestPendingTaskRun(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newSource(t, ns, "steps", "")
	apply(t, ns, `
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: later
spec:
  status: TaskRunPending
  taskSpec:
    steps:
    - {name: only, image: "{{.Image}}", script: "echo now"}
`)
	time.Sleep(5 * time.Second) // what a pending TaskRun would have done by now
	all, err := allEvents(ctxFor(t, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		if ext(e, "tektonnamespace") == ns {
			t.Errorf("event %s while the TaskRun was pending", e.ID())
		}
	}
	started := time.Now().Truncate(time.Second)
	if _, err := tekton.TektonV1().TaskRuns(ns).Patch(ctxFor(t, time.Minute), "later", types.JSONPatchType,
		[]byte(`[{"op":"remove","path":"/spec/status"}]`), metav1.PatchOptions{}); err != nil {
		t.Fatalf("starting the TaskRun: %v", err)
	}
	tr := waitTaskRun(t, ns, "later")
	got := eventsOf(t, ns, "later", 2)
	assertEvents(t, tr, got, []want{
		{transition: "started", step: "only"},
		{transition: "succeeded", step: "only", log: "now\n"},
	})
	if got[0].Time().Before(started) {
		t.Errorf("started at %s, before the TaskRun was started at %s", got[0].Time(), started)
	}
}
