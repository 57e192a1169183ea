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

package events

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/masking"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/steplog"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
)

func testTaskRun() *pipelinev1.TaskRun {
	return &pipelinev1.TaskRun{
		ObjectMeta: metav1.ObjectMeta{Name: "build-x", Namespace: "ci", UID: "0b6f",
			Labels: map[string]string{
				"tekton.dev/task": "build", "tekton.dev/pipelineRun": "release-1",
				"tekton.dev/pipeline": "release", "tekton.dev/pipelineTask": "compile",
			},
			OwnerReferences: []metav1.OwnerReference{pipelineRunOwner("release-1")}},
		Status: pipelinev1.TaskRunStatus{TaskRunStatusFields: pipelinev1.TaskRunStatusFields{
			PodName: "build-x-pod",
			TaskSpec: &pipelinev1.TaskSpec{Steps: []pipelinev1.Step{
				{Name: "compile", Image: "golang", Script: "go build ./...", Env: []corev1.EnvVar{
					{Name: "GOFLAGS", Value: "-mod=mod"},
					{Name: "GITHUB_TOKEN", Value: "ghp_abc"},
					{Name: "DB", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "url"}}},
				}},
				{Image: "busybox", Script: "echo unnamed"},
			}},
		}},
	}
}

// pipelineRunOwner is the owner reference Tekton sets on a PipelineRun's
// TaskRuns.
func pipelineRunOwner(name string) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{APIVersion: "tekton.dev/v1", Kind: "PipelineRun", Name: name, UID: "pr-uid", Controller: &yes, BlockOwnerDeletion: &yes}
}

// TestPipelineExtensions: the extensions placing a TaskRun in a
// PipelineRun come from the PipelineRun that controls it, never from labels
// alone, which whoever creates a TaskRun sets (a standalone TaskRun
// labelled as a release pipeline's would fire its Triggers).
func TestPipelineExtensions(t *testing.T) {
	labels := map[string]string{"tekton.dev/task": "build", "tekton.dev/pipelineRun": "release-1",
		"tekton.dev/pipeline": "release", "tekton.dev/pipelineTask": "compile"}
	notController := pipelineRunOwner("release-1")
	notController.Controller = nil
	otherGroup := pipelineRunOwner("release-1")
	otherGroup.APIVersion = "example.com/v1"
	tests := []struct {
		name   string
		labels map[string]string
		owners []metav1.OwnerReference
		want   map[string]string
	}{
		{name: "a PipelineRun's TaskRun", labels: labels, owners: []metav1.OwnerReference{pipelineRunOwner("release-1")},
			want: map[string]string{"tektontask": "build", "tektonpipelinerun": "release-1", "tektonpipeline": "release", "tektonpipelinetask": "compile"}},
		{name: "a standalone TaskRun with a PipelineRun's labels", labels: labels,
			want: map[string]string{"tektontask": "build"}},
		{name: "labels naming another PipelineRun than the controller", labels: labels, owners: []metav1.OwnerReference{pipelineRunOwner("nightly-7")},
			want: map[string]string{"tektontask": "build", "tektonpipelinerun": "nightly-7"}},
		{name: "owned, not controlled, by the PipelineRun", labels: labels, owners: []metav1.OwnerReference{notController},
			want: map[string]string{"tektontask": "build"}},
		{name: "a PipelineRun kind of another API group", labels: labels, owners: []metav1.OwnerReference{otherGroup},
			want: map[string]string{"tektontask": "build"}},
		{name: "a PipelineRun's TaskRun without labels", owners: []metav1.OwnerReference{pipelineRunOwner("release-1")},
			want: map[string]string{"tektonpipelinerun": "release-1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := testTaskRun()
			tr.Labels, tr.OwnerReferences = tc.labels, tc.owners
			e, err := New(tr, transitions.Transition{StepState: pipelinev1.StepState{Name: "compile"}, Kind: transitions.Started}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, k := range []string{"tektontask", "tektonpipelinerun", "tektonpipeline", "tektonpipelinetask"} {
				if v, ok := e.Extensions()[k]; ok {
					got[k] = v.(string)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("extensions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNew(t *testing.T) {
	finished := metav1.NewTime(time.Date(2026, 11, 22, 10, 0, 9, 0, time.UTC))
	state := pipelinev1.StepState{Name: "compile", Container: "step-compile", TerminationReason: "Continued",
		ContainerState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, FinishedAt: finished}}}
	tr := testTaskRun()
	tests := []struct {
		name     string
		tr       *pipelinev1.TaskRun
		t        transitions.Transition
		log      *steplog.Log
		masker   *masking.Masker
		wantType string
		wantExts map[string]interface{}
		check    func(t *testing.T, d Data)
	}{{
		name: "failed with onError continue and a truncated log",
		tr:   tr,
		t: transitions.Transition{Attempt: 1, StepState: state, Kind: transitions.Failed, Time: finished,
			PodName: "build-x-pod", Reason: "Continued"},
		log:      &steplog.Log{Text: "tail of log\n", Truncated: true},
		wantType: "dev.tekton.event.step.failed.v1",
		wantExts: map[string]interface{}{
			"tektontaskrun": "build-x", "tektontask": "build", "tektonpipelinerun": "release-1",
			"tektonpipeline": "release", "tektonpipelinetask": "compile", "tektonstep": "compile",
			"tektonnamespace": "ci", "tektonattempt": int32(1),
			"sequence": "00001-00000-1", "partitionkey": "ci/build-x",
		},
		check: func(t *testing.T, d Data) {
			if d.Log == nil || *d.Log != "tail of log\n" || !d.LogTruncated || d.LogError != "" {
				t.Errorf("log = %v truncated=%v err=%q", d.Log, d.LogTruncated, d.LogError)
			}
			if !d.Continued || d.Reason != "Continued" {
				t.Errorf("continued=%v reason=%q", d.Continued, d.Reason)
			}
			if diff := cmp.Diff(&corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: "ci", Name: "build-x-pod"}, d.PodRef); diff != "" {
				t.Errorf("podRef (-want +got):\n%s", diff)
			}
			if d.TaskRun != (TaskRunRef{Name: "build-x", Namespace: "ci", UID: "0b6f", Attempt: 1}) {
				t.Errorf("taskRun = %+v", d.TaskRun)
			}
			if d.Step == nil || d.Step.Image != "golang" {
				t.Fatalf("step = %+v", d.Step)
			}
			env := map[string]string{}
			for _, e := range d.Step.Env {
				env[e.Name] = e.Value
			}
			if env["GOFLAGS"] != "-mod=mod" || env["GITHUB_TOKEN"] != Redacted || env["DB"] != "" {
				t.Errorf("env = %v", env)
			}
		},
	}, {
		name: "unnamed step started, no log, no pipeline labels",
		tr: func() *pipelinev1.TaskRun {
			tr := testTaskRun()
			tr.Labels, tr.OwnerReferences = nil, nil
			return tr
		}(),
		t:        transitions.Transition{StepState: pipelinev1.StepState{Name: "unnamed-1"}, Kind: transitions.Started, Time: finished, PodName: "p"},
		wantType: "dev.tekton.event.step.started.v1",
		wantExts: map[string]interface{}{"tektontaskrun": "build-x", "tektonstep": "unnamed-1", "tektonnamespace": "ci", "tektonattempt": int32(0),
			"sequence": "00000-00000-0", "partitionkey": "ci/build-x"},
		check: func(t *testing.T, d Data) {
			if d.Step == nil || d.Step.Script != "echo unnamed" {
				t.Errorf("step = %+v", d.Step)
			}
			if d.Log != nil || d.LogError != "" {
				t.Errorf("a started event carries no log: %v %q", d.Log, d.LogError)
			}
		},
	}, {
		name: "secrets masked in the log, the script, args, command, env and results",
		tr: func() *pipelinev1.TaskRun {
			tr := testTaskRun()
			step := &tr.Status.TaskSpec.Steps[0]
			step.Script = "curl -u admin:planted-s3cret https://x # " + ghToken
			step.Args = []string{"--password=planted-s3cret"}
			step.Command = []string{"/bin/login", "planted-s3cret"}
			step.Env = append(step.Env, corev1.EnvVar{Name: "NOTE", Value: "x"})
			step.WorkingDir = "/workspace/planted-s3cret"
			step.DisplayName = "log in as planted-s3cret"
			step.Params = pipelinev1.Params{{Name: "token", Value: *pipelinev1.NewStructuredValues("planted-s3cret")}}
			step.When = pipelinev1.StepWhenExpressions{{Input: "planted-s3cret", Operator: "in", Values: []string{"planted-s3cret"}}}
			return tr
		}(),
		t: transitions.Transition{Kind: transitions.Succeeded, Time: finished, PodName: "p", StepState: pipelinev1.StepState{
			Name: "compile", Container: "step-compile",
			ContainerState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				FinishedAt: finished, Message: `[{"key":"token","value":"planted-s3cret"}]`}},
			Results: []pipelinev1.TaskRunStepResult{{Name: "token", Value: *pipelinev1.NewStructuredValues("planted-s3cret")}},
		}},
		log:      &steplog.Log{Text: "+ curl -u admin:planted-s3cret\n" + ghToken + " ok\n"},
		masker:   masking.New(mustCompile(t), [][]byte{[]byte("planted-s3cret")}),
		wantType: "dev.tekton.event.step.succeeded.v1",
		check: func(t *testing.T, d Data) {
			if d.Log == nil || *d.Log != "+ curl -u admin:***\n*** ok\n" || d.LogTruncated {
				t.Errorf("log = %q (truncated %v)", *d.Log, d.LogTruncated)
			}
			want := &pipelinev1.Step{Name: "compile", Image: "golang", Script: "curl -u admin:*** https://x # ***",
				Args: []string{"--password=***"}, Command: []string{"/bin/login", "***"}, WorkingDir: "/workspace/***",
				DisplayName: "log in as ***", Params: pipelinev1.Params{{Name: "token", Value: *pipelinev1.NewStructuredValues("***")}},
				When: pipelinev1.StepWhenExpressions{{Input: "***", Operator: "in", Values: []string{"***"}}}}
			got := d.Step.DeepCopy()
			got.Env = nil
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("step (-want +got):\n%s", diff)
			}
			if m := d.StepState.Terminated.Message; m != `[{"key":"token","value":"***"}]` {
				t.Errorf("termination message = %q", m)
			}
			if v := d.StepState.Results[0].Value.StringVal; v != "***" {
				t.Errorf("result = %q", v)
			}
		},
	}, {
		name:     "log unavailable",
		tr:       tr,
		t:        transitions.Transition{StepState: state, Kind: transitions.Succeeded, Time: finished, PodName: "gone"},
		log:      &steplog.Log{Err: errors.New(`pods "gone" not found`)},
		wantType: "dev.tekton.event.step.succeeded.v1",
		check: func(t *testing.T, d Data) {
			if d.Log != nil || !strings.Contains(d.LogError, "not found") {
				t.Errorf("log=%v logError=%q", d.Log, d.LogError)
			}
		},
	}, {
		name:     "no taskSpec in status yet, no pod",
		tr:       &pipelinev1.TaskRun{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "ci", UID: "u"}},
		t:        transitions.Transition{StepState: pipelinev1.StepState{Name: "a"}, Kind: transitions.Skipped, Time: finished},
		wantType: "dev.tekton.event.step.skipped.v1",
		check: func(t *testing.T, d Data) {
			if d.Step != nil || d.PodRef != nil {
				t.Errorf("step=%v podRef=%v", d.Step, d.PodRef)
			}
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(tc.tr, tc.t, tc.log, tc.masker)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Validate(); err != nil {
				t.Fatalf("invalid CloudEvent: %v", err)
			}
			if e.Type() != tc.wantType || e.ID() != tc.t.ID(tc.tr.UID) || !e.Time().Equal(tc.t.Time.Time) ||
				e.Subject() != tc.t.StepState.Name || e.DataContentType() != "application/json" ||
				e.Source() != "/apis/tekton.dev/v1/namespaces/"+tc.tr.Namespace+"/taskruns/"+tc.tr.Name {
				t.Errorf("context = %s", e.Context)
			}
			if tc.wantExts != nil {
				if diff := cmp.Diff(tc.wantExts, e.Extensions()); diff != "" {
					t.Errorf("extensions (-want +got):\n%s", diff)
				}
			}
			var d Data
			if err := json.Unmarshal(e.Data(), &d); err != nil {
				t.Fatal(err)
			}
			if d.StepState.Name != tc.t.StepState.Name {
				t.Errorf("stepState = %+v", d.StepState)
			}
			tc.check(t, d)
		})
	}
}

func TestPlainlyNotSecret(t *testing.T) {
	tests := []struct {
		name, value string
		want        bool
	}{
		{"LOG_LEVEL", "debug", true},
		{"GOFLAGS", "-mod=mod -trimpath", true},
		{"WORKDIR", "/workspace/source", true},
		{"REPLICAS", "3", true},
		{"REGISTRY", "registry.example.com/team/app", true},
		{"GITHUB_TOKEN", "x", false},
		{"DB_PASSWORD", "hunter2", false},
		{"AWS_SECRET_ACCESS_KEY", "abc", false},
		{"API_KEY", "short", false},
		{"CONFIG", "AKIAIOSFODNN7EXAMPLE", false},
		{"NOTE", "8f14e45fceea167a5a36dedd4bea2543", false},
		{"URL", "https://user:pass@host/x", false},
		{"MULTILINE", "a\nb", false},
		{"LONG", strings.Repeat("a", 65), false},
	}
	for _, tc := range tests {
		if got := PlainlyNotSecret(tc.name, tc.value); got != tc.want {
			t.Errorf("PlainlyNotSecret(%q, %q) = %v, want %v", tc.name, tc.value, got, tc.want)
		}
	}
}

func TestRedactDoesNotModifyTheOriginal(t *testing.T) {
	step := &pipelinev1.Step{Env: []corev1.EnvVar{{Name: "TOKEN", Value: "s3cr3t"}}}
	if Redact(step).Env[0].Value != Redacted || step.Env[0].Value != "s3cr3t" {
		t.Error("Redact must redact a copy")
	}
}

// ghToken has the shape of a GitHub token (made up).
var ghToken = "ghp_" + strings.Repeat("Zx9", 12)

func mustCompile(t *testing.T) masking.Patterns {
	t.Helper()
	p, err := masking.Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
