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

// Package tektonsim writes TaskRun statuses through the real apiserver the
// way Tekton's controller does (pkg/pod/status.go, terminateStepsInPod), for
// tests that have an apiserver but no Tekton controller or kubelet.
package tektonsim

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"knative.dev/pkg/apis"
)

// Run is a TaskRun whose status the test drives.
type Run struct {
	Client    tektonclient.Interface
	Namespace string
	Name      string
	UID       types.UID
	Steps     []string
	Created   metav1.Time
	// OnWrite, when set, is told the resourceVersion and time of each
	// status write (benchmarks measure latency from it).
	OnWrite func(resourceVersion string, at time.Time)
	attempt int
}

// Create creates a TaskRun with one step per name (unnamed for "") and the
// labels, and writes the status Tekton writes when it creates the pod.
// With the label tekton.dev/pipelineRun, the TaskRun is created as Tekton
// creates a PipelineRun's: owned by that PipelineRun (created first if
// there is none), its controller.
func Create(ctx context.Context, client tektonclient.Interface, namespace, name string, labels map[string]string, steps ...string) (*Run, error) {
	spec := pipelinev1.TaskSpec{}
	for _, s := range steps {
		spec.Steps = append(spec.Steps, pipelinev1.Step{Name: s, Image: "busybox", Script: "echo " + s})
	}
	var owners []metav1.OwnerReference
	if pr := labels[pipeline.PipelineRunLabelKey]; pr != "" {
		owner, err := pipelineRun(ctx, client, namespace, pr)
		if err != nil {
			return nil, err
		}
		owners = []metav1.OwnerReference{*metav1.NewControllerRef(owner, pipelinev1.SchemeGroupVersion.WithKind("PipelineRun"))}
	}
	tr, err := client.TektonV1().TaskRuns(namespace).Create(ctx, &pipelinev1.TaskRun{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, OwnerReferences: owners},
		Spec:       pipelinev1.TaskRunSpec{TaskSpec: spec.DeepCopy()},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	r := &Run{Client: client, Namespace: namespace, Name: name, UID: tr.UID, Created: tr.CreationTimestamp}
	for i, s := range steps {
		if s == "" {
			s = fmt.Sprintf("unnamed-%d", i)
		}
		r.Steps = append(r.Steps, s)
	}
	return r, r.update(ctx, func(st *pipelinev1.TaskRunStatus) {
		st.TaskSpec = &spec
		st.PodName = r.PodName()
		now := metav1.Now()
		st.StartTime = &now
		st.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionUnknown, Reason: "Pending"})
	})
}

// pipelineRun is the PipelineRun of the name, created if there is none.
func pipelineRun(ctx context.Context, client tektonclient.Interface, namespace, name string) (*pipelinev1.PipelineRun, error) {
	pr, err := client.TektonV1().PipelineRuns(namespace).Create(ctx, &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: "pipeline"}},
	}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return client.TektonV1().PipelineRuns(namespace).Get(ctx, name, metav1.GetOptions{})
	}
	return pr, err
}

// MustCreate is Create for tests.
func MustCreate(t testing.TB, client tektonclient.Interface, namespace, name string, labels map[string]string, steps ...string) *Run {
	t.Helper()
	r, err := Create(context.Background(), client, namespace, name, labels, steps...)
	if err != nil {
		t.Fatalf("creating TaskRun %s: %v", name, err)
	}
	return r
}

// SetEnv sets literal env values on a step of the resolved spec in the
// status (status.taskSpec), where Tekton keeps what the pod runs.
func (r *Run) SetEnv(ctx context.Context, stepName string, env map[string]string) error {
	return r.update(ctx, func(st *pipelinev1.TaskRunStatus) {
		for i := range st.TaskSpec.Steps {
			if st.TaskSpec.Steps[i].Name != stepName {
				continue
			}
			for _, name := range sortedKeys(env) {
				st.TaskSpec.Steps[i].Env = append(st.TaskSpec.Steps[i].Env, corev1.EnvVar{Name: name, Value: env[name]})
			}
		}
	})
}

// SetScript sets a step's script in the resolved spec in the status, as
// Tekton writes it with the params substituted.
func (r *Run) SetScript(ctx context.Context, stepName, script string) error {
	return r.update(ctx, func(st *pipelinev1.TaskRunStatus) {
		for i := range st.TaskSpec.Steps {
			if st.TaskSpec.Steps[i].Name == stepName {
				st.TaskSpec.Steps[i].Script = script
			}
		}
	})
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// PodName is the pod of the current attempt, named as Tekton names them.
func (r *Run) PodName() string {
	if r.attempt == 0 {
		return r.Name + "-pod"
	}
	return fmt.Sprintf("%s-pod-retry%d", r.Name, r.attempt)
}

// State describes one step's state for SetSteps.
type State func(name string, at time.Time) pipelinev1.StepState

// Waiting is a step container not started yet.
func Waiting() State {
	return func(name string, _ time.Time) pipelinev1.StepState {
		return step(name, corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}, "")
	}
}

// Running is a step container running (which for any but the current step
// means its entrypoint waits for the previous step).
func Running() State {
	return func(name string, at time.Time) pipelinev1.StepState {
		return step(name, corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(at)}}, "")
	}
}

// Exited is a step whose entrypoint exited and wrote its termination
// message: terminationReason is Completed, Error, Continued, Skipped,
// TimeoutExceeded or Cancelled.
func Exited(exitCode int32, reason string) State {
	return func(name string, at time.Time) pipelinev1.StepState {
		containerReason := "Completed"
		if exitCode != 0 {
			containerReason = "Error"
		}
		return step(name, corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: exitCode, Reason: containerReason, StartedAt: metav1.NewTime(at), FinishedAt: metav1.NewTime(at),
		}}, reason)
	}
}

// Succeeded, Failed and Skipped are the common Exited states.
func Succeeded() State { return Exited(0, "Completed") }

// Failed is a step that exited 1.
func Failed() State { return Exited(1, "Error") }

// Progressed is the states of n steps of which the first done succeeded and
// the others run: the status after the done-th step finished.
func Progressed(n, done int) []State {
	states := make([]State, n)
	for i := range states {
		if i < done {
			states[i] = Succeeded()
		} else {
			states[i] = Running()
		}
	}
	return states
}

// Skipped is a step Tekton skipped after an earlier failure.
func Skipped() State { return Exited(1, "Skipped") }

func step(name string, state corev1.ContainerState, reason string) pipelinev1.StepState {
	return pipelinev1.StepState{Name: name, Container: "step-" + name, ContainerState: state, TerminationReason: reason}
}

// SetSteps writes status.steps, one state per step in order, as one update.
func (r *Run) SetSteps(ctx context.Context, states ...State) error {
	return r.writeSteps(ctx, states, func(st *pipelinev1.TaskRunStatus) {
		st.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionUnknown, Reason: "Running"})
	})
}

// Complete writes the final step states and ends the attempt in one status
// write, as Tekton's reconciler does when it sees the pod has ended.
func (r *Run) Complete(ctx context.Context, succeeded bool, states ...State) error {
	return r.writeSteps(ctx, states, func(st *pipelinev1.TaskRunStatus) { finish(st, succeeded) })
}

// writeSteps writes status.steps, one state per step in order, and what
// then marks the attempt's condition, as one update.
func (r *Run) writeSteps(ctx context.Context, states []State, condition func(*pipelinev1.TaskRunStatus)) error {
	if len(states) != len(r.Steps) {
		return fmt.Errorf("%d states for %d steps", len(states), len(r.Steps))
	}
	now := time.Now().Truncate(time.Second)
	return r.update(ctx, func(st *pipelinev1.TaskRunStatus) {
		st.Steps = nil
		for i, s := range states {
			st.Steps = append(st.Steps, s(r.Steps[i], now))
		}
		st.PodName = r.PodName()
		condition(st)
	})
}

// MustSetSteps is SetSteps for tests.
func (r *Run) MustSetSteps(t testing.TB, states ...State) {
	t.Helper()
	if err := r.SetSteps(context.Background(), states...); err != nil {
		t.Fatalf("updating TaskRun %s: %v", r.Name, err)
	}
}

// Finish marks the attempt done, as Tekton does when the pod ended.
func (r *Run) Finish(ctx context.Context, succeeded bool) error {
	return r.update(ctx, func(st *pipelinev1.TaskRunStatus) { finish(st, succeeded) })
}

func finish(st *pipelinev1.TaskRunStatus, succeeded bool) {
	now := metav1.Now()
	st.CompletionTime = &now
	if succeeded {
		st.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue, Reason: "Succeeded"})
	} else {
		st.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse, Reason: "Failed"})
	}
}

// Retry moves the finished attempt to retriesStatus as Tekton (v1.15) does
// for `retries:`: podName is cleared but status.steps keep the old attempt's
// states until the next SetSteps writes the new pod's.
func (r *Run) Retry(ctx context.Context) error {
	return r.update(ctx, func(st *pipelinev1.TaskRunStatus) {
		old := st.DeepCopy()
		old.RetriesStatus = nil
		st.RetriesStatus = append(st.RetriesStatus, *old)
		r.attempt = len(st.RetriesStatus)
		st.StartTime = nil
		st.CompletionTime = nil
		st.PodName = ""
		st.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionUnknown, Reason: "ToBeRetried"})
	})
}

// update writes the status through the status subresource, retrying on
// conflicts (the adapter's checkpoint patches bump the resourceVersion, and
// Tekton retries the same way).
func (r *Run) update(ctx context.Context, mutate func(*pipelinev1.TaskRunStatus)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		tr, err := r.Client.TektonV1().TaskRuns(r.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		mutate(&tr.Status)
		// Latency counts from when the write was issued.
		issued := time.Now()
		updated, err := r.Client.TektonV1().TaskRuns(r.Namespace).UpdateStatus(ctx, tr, metav1.UpdateOptions{})
		if err == nil && r.OnWrite != nil {
			r.OnWrite(updated.ResourceVersion, issued)
		}
		return err
	})
}

// Describe renders step states for failure messages.
func Describe(states []pipelinev1.StepState) string {
	var b strings.Builder
	for _, s := range states {
		fmt.Fprintf(&b, "%s:%+v ", s.Name, s.ContainerState)
	}
	return b.String()
}
