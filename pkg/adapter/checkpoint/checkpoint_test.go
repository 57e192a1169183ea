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

package checkpoint

import (
	"time"

	"encoding/json"
	"strings"
	"testing"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
)

func tr(attempt int, step string, kind transitions.Kind) transitions.Transition {
	return transitions.Transition{Attempt: attempt, StepState: pipelinev1.StepState{Name: step}, Kind: kind}
}

func TestProgress(t *testing.T) {
	p := &Progress{}
	steps := []transitions.Transition{
		tr(0, "a", transitions.Started), tr(0, "a", transitions.Failed), tr(0, "b", transitions.Skipped),
		tr(1, "a", transitions.Started), tr(1, "a", transitions.Succeeded),
	}
	for i, s := range steps {
		for j, later := range steps[i:] {
			if p.Done(later) {
				t.Fatalf("before recording %d, transition %d is already done", i, i+j)
			}
		}
		before := p.Clone()
		p.Record(s)
		if !p.Done(s) {
			t.Fatalf("transition %d not done after Record", i)
		}
		for j := 0; j <= i; j++ {
			if !p.Done(steps[j]) {
				t.Errorf("after %d, earlier transition %d is not done", i, j)
			}
		}
		if !p.Covers(before) || before.Covers(p) {
			t.Errorf("after %d: Covers is not strictly increasing (%v vs %v)", i, p, before)
		}
	}
	// Recording an old transition again changes nothing.
	snapshot := p.Clone()
	p.Record(steps[0])
	if !p.Covers(snapshot) || !snapshot.Covers(p) {
		t.Errorf("re-recording an old transition changed progress: %v -> %v", snapshot, p)
	}
}

// runAt is a TaskRun in its second attempt (one retry), whose step "a"
// succeeded and "b" runs; "c" waits.
func runAt() *pipelinev1.TaskRun {
	at := metav1.Unix(100, 0)
	return &pipelinev1.TaskRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ci", Name: "build", UID: "tr-uid", CreationTimestamp: at},
		Status: pipelinev1.TaskRunStatus{TaskRunStatusFields: pipelinev1.TaskRunStatusFields{
			PodName:       "build-pod-retry1",
			RetriesStatus: []pipelinev1.TaskRunStatus{{TaskRunStatusFields: pipelinev1.TaskRunStatusFields{PodName: "build-pod"}}},
			Steps: []pipelinev1.StepState{
				{Name: "a", ContainerState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{StartedAt: at, FinishedAt: at}}},
				{Name: "b", ContainerState: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: at}}},
				{Name: "c", ContainerState: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: at}}},
			},
		}},
	}
}

func TestFromTaskRun(t *testing.T) {
	run := runAt()
	run.Annotations = map[string]string{
		Key("src-1"): `{"u":"tr-uid","a":1,"s":{"a":2,"b":1}}`,
		Key("src-2"): `not json`,
	}
	p, err := FromTaskRun(run, "src-1", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Done(tr(0, "z", transitions.Skipped)) || !p.Done(tr(1, "a", transitions.Failed)) ||
		!p.Done(tr(1, "b", transitions.Started)) || p.Done(tr(1, "b", transitions.Succeeded)) || p.Done(tr(2, "a", transitions.Started)) {
		t.Errorf("progress %v decoded wrongly", p)
	}
	if p, err := FromTaskRun(run, "src-2", time.Time{}); err == nil || p.Attempt != 0 || len(p.Steps) != 0 {
		t.Errorf("an unreadable checkpoint must yield an error and empty progress, got %v %v", p, err)
	}
	if p, err := FromTaskRun(run, "src-3", time.Time{}); err != nil || p.Done(tr(0, "a", transitions.Started)) {
		t.Errorf("another source's checkpoint leaked: %v %v", p, err)
	}
}

// TestBeyond: a checkpoint that claims more than the TaskRun's status can
// have (written by someone who may patch TaskRuns, to silence a run) is
// ignored with a reason naming the TaskRun; every true record is kept.
func TestBeyond(t *testing.T) {
	tests := []struct {
		name, annotation string
		// wantWhy is part of the reason; "" means the record is kept.
		wantWhy string
		// trimmed: the TaskRun is complete and its steps and retries are
		// gone; noSteps: it runs and has no steps and retries yet.
		trimmed, noSteps bool
		// legacyBefore: since when records name their TaskRun.
		legacyBefore time.Time
	}{
		{name: "an earlier attempt done", annotation: `{"u":"tr-uid","a":0,"s":{"a":2,"b":2,"c":2}}`},
		{name: "the current attempt as far as its status", annotation: `{"u":"tr-uid","a":1,"s":{"a":2,"b":1}}`},
		{name: "the current attempt, nothing yet", annotation: `{"u":"tr-uid","a":1}`},
		{name: "a later attempt", annotation: `{"u":"tr-uid","a":99}`, wantWhy: "records attempt 99, the TaskRun is at attempt 1"},
		{name: "a negative attempt", annotation: `{"u":"tr-uid","a":-1}`, wantWhy: "attempt -1"},
		{name: "a running step finished", annotation: `{"u":"tr-uid","a":1,"s":{"a":2,"b":2}}`, wantWhy: `step "b" finished, its state shows it started`},
		{name: "a waiting step started", annotation: `{"u":"tr-uid","a":1,"s":{"c":1}}`, wantWhy: `step "c" started, its state shows it not started`},
		{name: "a step the task does not have", annotation: `{"u":"tr-uid","a":1,"s":{"deploy":2}}`, wantWhy: `step "deploy" finished`},
		{name: "a level that does not exist", annotation: `{"u":"tr-uid","a":1,"s":{"a":7}}`, wantWhy: `step "a" at level 7`},
		{name: "settled, as the adapter's cache keeps it", annotation: `{"u":"tr-uid","a":1,"s":{"a":2,"b":2,"c":2}}`, trimmed: true},
		{name: "running without steps", annotation: `{"u":"tr-uid","a":1}`, wantWhy: "records attempt 1, the TaskRun is at attempt 0", noSteps: true},
		// Copied with the annotations of another TaskRun (a rerun, kubectl
		// get | create, a PipelineRun's or Task's annotations): ignored
		// even though the status bears it out.
		{name: "recorded for another TaskRun", annotation: `{"u":"other-uid","a":1,"s":{"a":2}}`, wantWhy: "recorded for TaskRun uid other-uid"},
		{name: "recorded for no TaskRun, on a TaskRun created since records name theirs", annotation: `{"a":1,"s":{"a":2}}`,
			legacyBefore: time.Unix(100, 0), wantWhy: "recorded for no TaskRun"},
		// Written by an adapter of before records named their TaskRun.
		{name: "recorded for no TaskRun, on a TaskRun created before records named theirs", annotation: `{"a":1,"s":{"a":2}}`,
			legacyBefore: time.Unix(101, 0)},
		{name: "recorded for no TaskRun before, claiming more than the status", annotation: `{"a":1,"s":{"b":2}}`,
			legacyBefore: time.Unix(101, 0), wantWhy: `step "b" finished`},
		{name: "recorded for another TaskRun, settled", annotation: `{"u":"other-uid","a":1,"s":{"a":2,"b":2,"c":2}}`, wantWhy: "recorded for TaskRun uid other-uid", trimmed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := runAt()
			if tc.trimmed {
				done := metav1.Unix(200, 0)
				run.Status.CompletionTime = &done
				run.Status.Steps, run.Status.RetriesStatus = nil, nil
			}
			if tc.noSteps {
				run.Status.Steps, run.Status.RetriesStatus = nil, nil
			}
			run.Annotations = map[string]string{Key("src"): tc.annotation}
			p, err := FromTaskRun(run, "src", tc.legacyBefore)
			if tc.wantWhy == "" {
				want := &Progress{}
				if jerr := json.Unmarshal([]byte(tc.annotation), want); err != nil || jerr != nil || !p.Covers(want) || !want.Covers(p) {
					t.Errorf("a true record was not kept: got %v (%v), want %v", p, err, want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantWhy) || !strings.Contains(err.Error(), "ci/build") {
				t.Errorf("error = %v, want one naming ci/build and %q", err, tc.wantWhy)
			}
			if p.Attempt != 0 || len(p.Steps) != 0 {
				t.Errorf("an implausible record was kept: %v", p)
			}
		})
	}
}
