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
	"slices"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// hangThenCleanUp is a Pipeline whose task hangs in its first step and
// whose finally task cleans up.
const hangThenCleanUp = `
apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: hang
spec:
  tasks:
  - name: hang
    taskSpec:
      steps:
      - {name: wait, image: "{{.Image}}", script: "echo waiting; sleep 600"}
      - {name: after, image: "{{.Image}}", script: "echo never"}
  finally:
  - name: cleanup
    taskSpec:
      steps:
      - {name: tidy, image: "{{.Image}}", script: "echo tidied"}
`

// assertStoppedThenCleanedUp checks the events of a PipelineRun of
// hangThenCleanUp that Tekton stopped: the hanging step failed with
// reason, the one after it skipped, and the finally task ran; all naming
// the PipelineRun and their pipeline task.
func assertStoppedThenCleanedUp(t *testing.T, pr *pipelinev1.PipelineRun, runs map[string][]*pipelinev1.TaskRun, reason string) {
	t.Helper()
	hang, cleanup := runs["hang"][0], runs["cleanup"][0]
	got := eventsOf(t, pr.Namespace, hang.Name, 3)
	assertEvents(t, hang, got, []want{
		{transition: "started", step: "wait"},
		{transition: "failed", step: "wait", reason: reason, log: "waiting\n"},
		{transition: "skipped", step: "after", reason: reason},
	})
	checkPipelineExtensions(t, got, pr.Name, "hang")
	got = eventsOf(t, pr.Namespace, cleanup.Name, 2)
	assertEvents(t, cleanup, got, []want{
		{transition: "started", step: "tidy"},
		{transition: "succeeded", step: "tidy", reason: "Completed", log: "tidied\n"},
	})
	checkPipelineExtensions(t, got, pr.Name, "cleanup")
}

// children are the PipelineRun's TaskRuns by pipeline task, in Tekton's
// order (a matrix task has several).
func children(t *testing.T, pr *pipelinev1.PipelineRun) map[string][]*pipelinev1.TaskRun {
	t.Helper()
	out := map[string][]*pipelinev1.TaskRun{}
	for _, c := range pr.Status.ChildReferences {
		out[c.PipelineTaskName] = append(out[c.PipelineTaskName], waitTaskRun(t, pr.Namespace, c.Name))
	}
	return out
}

// checkPipelineExtensions: every event of a PipelineRun's TaskRun names
// the PipelineRun and its pipeline task.
func checkPipelineExtensions(t *testing.T, events []cloudevents.Event, pipelineRun, pipelineTask string) {
	t.Helper()
	for _, e := range events {
		for k, v := range map[string]string{"tektonpipelinerun": pipelineRun, "tektonpipelinetask": pipelineTask} {
			if ext(e, k) != v {
				t.Errorf("%s: extension %s=%q, want %q", e.ID(), k, ext(e, k), v)
			}
		}
	}
}

// TestMatrixAndFinally: a matrix fan-out gives one TaskRun per
// combination, each with its own events naming the same pipeline task;
// the finally task's TaskRun follows with its own name.
func TestMatrixAndFinally(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newSource(t, ns, "steps", "")
	apply(t, ns, `
apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: fan
spec:
  tasks:
  - name: build
    matrix:
      params:
      - {name: os, value: [linux, darwin]}
    taskSpec:
      params: [{name: os}]
      steps:
      - {name: compile, image: "{{.Image}}", script: "echo build $(params.os)"}
  finally:
  - name: report
    taskSpec:
      steps:
      - {name: summary, image: "{{.Image}}", script: "echo all built"}
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: fan-1
spec:
  pipelineRef: {name: fan}
`)
	pr := waitPipelineRun(t, ns, "fan-1")
	if !pr.Status.GetCondition("Succeeded").IsTrue() {
		t.Fatalf("PipelineRun failed: %+v", pr.Status.Conditions)
	}
	runs := children(t, pr)
	if len(runs["build"]) != 2 || len(runs["report"]) != 1 {
		t.Fatalf("child TaskRuns %v, want 2 of build and 1 of report", pr.Status.ChildReferences)
	}
	var logs []string
	for _, tr := range runs["build"] {
		got := eventsOf(t, ns, tr.Name, 2)
		log := *eventData(got[1]).Log
		assertEvents(t, tr, got, []want{
			{transition: "started", step: "compile"},
			{transition: "succeeded", step: "compile", reason: "Completed", log: log},
		})
		checkPipelineExtensions(t, got, "fan-1", "build")
		logs = append(logs, log)
	}
	if slices.Sort(logs); !slices.Equal(logs, []string{"build darwin\n", "build linux\n"}) {
		t.Errorf("the matrix TaskRuns logged %q, want one per os", logs)
	}
	report := runs["report"][0]
	got := eventsOf(t, ns, report.Name, 2)
	assertEvents(t, report, got, []want{
		{transition: "started", step: "summary"},
		{transition: "succeeded", step: "summary", reason: "Completed", log: "all built\n"},
	})
	checkPipelineExtensions(t, got, "fan-1", "report")
}

// TestPipelineRunCancelledRunFinally: `CancelledRunFinally` cancels the
// running task (its executing step fails TaskRunCancelled, the rest are
// skipped) and still runs the finally task, whose steps start and end.
func TestPipelineRunCancelledRunFinally(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newSource(t, ns, "steps", "")
	apply(t, ns, hangThenCleanUp+`
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: cancelled
spec:
  pipelineRef: {name: hang}
`)
	// Cancel once the step really runs.
	waitEvents(t, 1, func(e cloudevents.Event) bool {
		return ext(e, "tektonnamespace") == ns && ext(e, "tektonpipelinetask") == "hang"
	})
	patch := []byte(`{"spec":{"status":"CancelledRunFinally"}}`)
	if _, err := tekton.TektonV1().PipelineRuns(ns).Patch(ctxFor(t, time.Minute), "cancelled", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatalf("cancelling: %v", err)
	}
	pr := waitPipelineRun(t, ns, "cancelled")
	if r := pr.Status.GetCondition("Succeeded").Reason; r != "Cancelled" {
		t.Fatalf("PipelineRun reason %s, want Cancelled", r)
	}
	assertStoppedThenCleanedUp(t, pr, children(t, pr), "TaskRunCancelled")
}

// TestPipelineTasksTimeout: when `timeouts.tasks` runs out, Tekton stops
// the running task; its executing step fails with the reason Tekton
// writes, the rest are skipped, and the finally task still runs.
func TestPipelineTasksTimeout(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newSource(t, ns, "steps", "")
	apply(t, ns, hangThenCleanUp+`
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: timed-out
spec:
  pipelineRef: {name: hang}
  timeouts: {pipeline: 5m, tasks: 45s}
`)
	pr := waitPipelineRun(t, ns, "timed-out")
	if c := pr.Status.GetCondition("Succeeded"); !c.IsFalse() {
		t.Fatalf("PipelineRun %+v, want it failed", c)
	}
	// Tekton stops the TaskRun by cancelling it (the PipelineRun's
	// timeout) or by the TaskRun's own timeout it derived from timeouts.tasks.
	runs := children(t, pr)
	reason := runs["hang"][0].Status.Steps[0].TerminationReason
	if reason != "TaskRunCancelled" && reason != "TaskRunTimeout" {
		t.Fatalf("the hanging step's terminationReason %q, want TaskRunCancelled or TaskRunTimeout", reason)
	}
	assertStoppedThenCleanedUp(t, pr, runs, reason)
}
