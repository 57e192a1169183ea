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

package adapter

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
)

var (
	created     = metav1.NewTime(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	sourceStart = metav1.NewTime(created.Add(time.Hour))
)

func at(sec int) *metav1.Time {
	t := metav1.NewTime(created.Add(time.Duration(sec) * time.Second))
	return &t
}

func succeeded(name string, start, end int) pipelinev1.StepState {
	return pipelinev1.StepState{Name: name, Container: "step-" + name, TerminationReason: "Completed",
		ContainerState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			Reason: "Completed", StartedAt: *at(start), FinishedAt: *at(end)}}}
}

// finishedRun is a TaskRun of two succeeded steps that completed at the
// given second (nil: still running) and carries the given checkpoint.
func finishedRun(completed *metav1.Time, annotation string) *pipelinev1.TaskRun {
	tr := &pipelinev1.TaskRun{ObjectMeta: metav1.ObjectMeta{
		Name: "tr", Namespace: "ns", UID: "uid-1", CreationTimestamp: created,
		Annotations:   map[string]string{"other": "x"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "tekton"}},
	}}
	if annotation != "" {
		tr.Annotations[checkpoint.Key("src")] = annotation
	}
	tr.Spec.TaskRef = &pipelinev1.TaskRef{Name: "build"}
	tr.Status.PodName = "tr-pod"
	tr.Status.CompletionTime = completed
	tr.Status.StartTime = at(1)
	tr.Status.TaskSpec = &pipelinev1.TaskSpec{Steps: []pipelinev1.Step{{Name: "a"}, {Name: "b"}}}
	tr.Status.Steps = []pipelinev1.StepState{succeeded("a", 3, 5), succeeded("b", 5, 8)}
	tr.Status.Steps[0].Results = []pipelinev1.TaskRunStepResult{{Name: "digest", Value: *pipelinev1.NewStructuredValues("sha256:abc")}}
	tr.Status.Steps[0].Provenance = &pipelinev1.Provenance{}
	tr.Status.Results = []pipelinev1.TaskRunResult{{Name: "digest"}}
	tr.Status.Conditions = duckv1.Conditions{
		{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue, Reason: "Succeeded", Message: "All Steps have completed executing"},
		{Type: "Other", Status: corev1.ConditionTrue},
	}
	if completed == nil {
		tr.Status.Conditions[0] = apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionUnknown, Reason: "Running",
			Message: "Not all Steps in the Task have finished executing"}
	}
	return tr
}

func TestTrim(t *testing.T) {
	const all = `{"u":"uid-1","a":0,"s":{"a":2,"b":2}}`
	tests := []struct {
		name      string
		tr        *pipelinev1.TaskRun
		notBefore metav1.Time
		// settled: steps, task spec and retries are dropped too.
		settled bool
	}{{
		name: "running",
		tr:   finishedRun(nil, all),
	}, {
		name: "finished, nothing delivered yet",
		tr:   finishedRun(at(9), ""),
	}, {
		name: "finished, the last step not delivered yet",
		tr:   finishedRun(at(9), `{"u":"uid-1","a":0,"s":{"a":2,"b":1}}`),
	}, {
		name: "finished, unreadable checkpoint",
		tr:   finishedRun(at(9), `{`),
	}, {
		name:    "finished and fully delivered",
		tr:      finishedRun(at(9), all),
		settled: true,
	}, {
		name:      "finished before the source was created",
		tr:        finishedRun(at(9), ""),
		notBefore: sourceStart,
		settled:   true,
	}, {
		name: "a later attempt's checkpoint covers earlier attempts",
		tr: func() *pipelinev1.TaskRun {
			first := finishedRun(at(4), "")
			first.Status.PodName = "tr-pod-1"
			first.Status.Steps = []pipelinev1.StepState{succeeded("a", 1, 2), succeeded("b", 2, 3)}
			tr := finishedRun(at(9), `{"u":"uid-1","a":1,"s":{"a":2,"b":2}}`)
			tr.Status.RetriesStatus = []pipelinev1.TaskRunStatus{first.Status}
			return tr
		}(),
		settled: true,
	}, {
		// Written by somebody who may patch TaskRuns, to silence the run:
		// the TaskRun is kept whole, and its events are sent.
		name:    "a checkpoint of an attempt that never ran does not settle it",
		tr:      finishedRun(at(9), `{"u":"uid-1","a":5}`),
		settled: false,
	}, {
		// Copied from another TaskRun (a rerun keeps the annotations).
		name:    "a checkpoint recorded for another TaskRun does not settle it",
		tr:      finishedRun(at(9), `{"u":"uid-0","a":0,"s":{"a":2,"b":2}}`),
		settled: false,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := testAdapter(t, &adaptercontract.Config{SourceUID: "src", NotBefore: tc.notBefore}, nil)
			obj, err := a.trim(tc.tr.DeepCopy(), func(string) bool { return true })
			if err != nil {
				t.Fatal(err)
			}
			tr := obj.(*pipelinev1.TaskRun)
			if tr.Status.PodName != "tr-pod" || !tr.Status.CompletionTime.Equal(tc.tr.Status.CompletionTime) {
				t.Errorf("pod name or completion time lost: %+v", tr.Status)
			}
			trimmed := tr.Status.TaskSpec == nil && tr.Status.Steps == nil && tr.Status.RetriesStatus == nil
			if trimmed != tc.settled {
				t.Errorf("steps, taskSpec and retriesStatus dropped = %v, want %v (status %+v)", trimmed, tc.settled, tr.Status)
			}
		})
	}
}

// TestTrimOtherNamespace: a cluster-wide watch for some namespaces
// (ClusterWatch) caches the others' TaskRuns as bare names only.
func TestTrimOtherNamespace(t *testing.T) {
	a := testAdapter(t, &adaptercontract.Config{SourceUID: "src", Namespaces: []string{"ci", "web"}, ClusterWatch: true}, nil)
	tr := finishedRun(nil, `{"u":"uid-1","a":0}`)
	tr.ResourceVersion = "42"
	obj, err := a.trim(tr, func(ns string) bool { return ns == "ci" || ns == "web" })
	if err != nil {
		t.Fatal(err)
	}
	want := &pipelinev1.TaskRun{ObjectMeta: metav1.ObjectMeta{Name: "tr", Namespace: "ns", UID: "uid-1", ResourceVersion: "42"}}
	if diff := cmp.Diff(want, obj); diff != "" {
		t.Errorf("trimmed (-want +got):\n%s", diff)
	}
}
