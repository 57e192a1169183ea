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

// Package transitions derives step transitions (started, succeeded, failed,
// skipped) from a TaskRun's status, following the semantics of Tekton's own
// status writer (tektoncd/pipeline pkg/pod/status.go, pkg/entrypoint and the
// TaskRun reconciler's terminateStepsInPod). It is pure: the same TaskRun
// always yields the same ordered list, and as the TaskRun progresses the list
// only grows at the end of each attempt, which is what lets the adapter
// checkpoint its progress as "how far down the list it got".
package transitions

import (
	"fmt"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"knative.dev/pkg/apis"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// Kind is what happened to a step.
type Kind string

const (
	// Started means the step began executing (not merely its container).
	Started Kind = "started"
	// Succeeded means the step exited 0.
	Succeeded Kind = "succeeded"
	// Failed means the step exited non-zero, was cancelled or timed out.
	Failed Kind = "failed"
	// Skipped means Tekton did not run the step.
	Skipped Kind = "skipped"
)

// EventType returns the CloudEvents type of the transition kind.
func (k Kind) EventType() string {
	switch k {
	case Started:
		return v1alpha1.StepStartedEventType
	case Succeeded:
		return v1alpha1.StepSucceededEventType
	case Failed:
		return v1alpha1.StepFailedEventType
	default:
		return v1alpha1.StepSkippedEventType
	}
}

// Terminal reports whether the kind ends the step.
func (k Kind) Terminal() bool { return k != Started }

// Tekton's termination reasons (pkg/pod and the TaskRun reconciler). The
// reasons the entrypoint writes come with a termination message; the
// TaskRun-level ones are written by the reconciler when it stops the pod.
const (
	ReasonCompleted       = "Completed"
	ReasonSkipped         = "Skipped"
	ReasonContinued       = "Continued"
	ReasonCancelled       = "Cancelled"
	ReasonTimeoutExceeded = "TimeoutExceeded"
	ReasonTaskRunCancel   = "TaskRunCancelled"
	ReasonTaskRunTimeout  = "TaskRunTimeout"

	// The TaskRun reasons of a pod that could not start (the reconciler's
	// checkPodFailed): an image that cannot be pulled, a container that
	// cannot be configured (a missing ConfigMap or Secret) or created.
	ReasonImagePullFailed            = "TaskRunImagePullFailed"
	ReasonCreateContainerConfigError = "CreateContainerConfigError"
	ReasonPodCreationFailed          = "PodCreationFailed"
)

// Transition is one step transition of one attempt of a TaskRun.
type Transition struct {
	// Attempt is the number of earlier attempts (len(status.retriesStatus)
	// when this attempt is the current one).
	Attempt int
	// Index is the step's position in the attempt.
	Index int
	// StepState is the step's state as Tekton reported it.
	StepState pipelinev1.StepState
	// Kind is what happened.
	Kind Kind
	// Time is when it happened.
	Time metav1.Time
	// PodName is the pod of the attempt.
	PodName string
	// Reason is Tekton's termination reason for terminal transitions
	// (Completed, Error, Continued, Skipped, TaskRunCancelled, ...).
	Reason string
}

// ID is the CloudEvent id of the transition: the same transition of the
// same attempt always has the same id, across restarts and replicas.
func (t Transition) ID(taskRunUID types.UID) string {
	return fmt.Sprintf("%s.%d.%s.%s", taskRunUID, t.Attempt, t.StepState.Name, t.Kind)
}

// Sequence is the transition's place among its TaskRun's transitions, as a
// string that sorts lexicographically in transition order across attempts
// (the CloudEvents sequence extension): the attempt, the step's index and 0
// for started or 1 for the terminal transition, zero-padded:
// "00001-00002-0" is the third step's start in the second attempt.
func (t Transition) Sequence() string {
	terminal := 1
	if t.Kind == Started {
		terminal = 0
	}
	return fmt.Sprintf("%05d-%05d-%d", t.Attempt, t.Index, terminal)
}

// Continued reports whether a failed step had onError: continue, so the
// TaskRun went on.
func (t Transition) Continued() bool { return t.Kind == Failed && t.Reason == ReasonContinued }

// ForTaskRun lists every transition of every attempt of the TaskRun, in
// order: attempts oldest first, steps in order, a step's started before its
// terminal transition. Attempts that completed before notBefore are left out,
// so a new source does not replay history.
func ForTaskRun(tr *pipelinev1.TaskRun, notBefore time.Time) []Transition {
	var out []Transition
	for i := range tr.Status.RetriesStatus {
		out = appendAttempt(out, i, &tr.Status.RetriesStatus[i], tr.CreationTimestamp, notBefore)
	}
	if n := len(tr.Status.RetriesStatus); n > 0 && leftOver(&tr.Status, &tr.Status.RetriesStatus[n-1]) {
		return out
	}
	return appendAttempt(out, len(tr.Status.RetriesStatus), &tr.Status, tr.CreationTimestamp, notBefore)
}

// leftOver reports whether the current status still shows the previous
// attempt. When Tekton retries a TaskRun it copies the status into
// retriesStatus and clears podName, but leaves status.steps as they were
// until the new pod reports container statuses; those steps belong to the
// archived attempt, not to the new one.
func leftOver(current, previous *pipelinev1.TaskRunStatus) bool {
	return current.PodName == "" || current.PodName == previous.PodName ||
		equality.Semantic.DeepEqual(current.Steps, previous.Steps)
}

func appendAttempt(out []Transition, attempt int, st *pipelinev1.TaskRunStatus, created metav1.Time, notBefore time.Time) []Transition {
	if st.CompletionTime != nil && st.CompletionTime.Time.Before(notBefore) {
		return out
	}
	add := func(i int, s pipelinev1.StepState, kind Kind, at metav1.Time, reason string) {
		out = append(out, Transition{
			Attempt: attempt, Index: i, StepState: s, Kind: kind, Time: at, PodName: st.PodName, Reason: reason,
		})
	}
	// mayRun is true while the next step is allowed to execute: Tekton's
	// entrypoint starts step i only after step i-1 wrote its post file
	// without an error (it succeeded, was continued, or was skipped by a
	// `when`). Before that, step i's container shows "running" although the
	// step waits (tektoncd/cli#450).
	mayRun := true
	// open is true once a step has not ended in an attempt that goes on:
	// the later steps wait for it, whatever their containers show (under
	// load a later step can show terminated while the status still shows
	// the earlier one running).
	open := false
	var prevFinished metav1.Time
	failedToStart, failedAt := podFailedToStart(st)
	running := failedToStart == "" && podRunning(st)
	// executing: step i, shown running, is executing (its entrypoint
	// started it), so it has started.
	executing := func(i int) bool { return mayRun && !conditional(st, i) && running }
	endReason, endedAt, ended := attemptEnded(st)
	for i, s := range st.Steps {
		switch {
		case s.Terminated == nil && failedToStart != "":
			// Tekton ended the attempt because its pod could not start
			// and left the steps as they were (CreateContainerConfigError
			// does): none ran, and none will end otherwise.
			add(i, s, Skipped, atLeast(failedAt, prevFinished), failedToStart)
			mayRun = false
		case s.Terminated == nil && ended:
			// Tekton ended the attempt without the step's end: a step
			// killed for memory takes its entrypoint with it, so the next
			// step's entrypoint waits for ever and Tekton (which counts
			// the pod done at the OOM) leaves it running. Nothing ends it
			// otherwise: one that executed fails with the attempt, one
			// that did not is skipped, with the attempt's reason. A step
			// after one that ended and let it run executed whatever its
			// container shows now: the kubelet reports an evicted pod's
			// containers waiting again.
			if executing(i) && (s.Running != nil || i > 0) {
				started := startTime(i, s, prevFinished)
				add(i, s, Started, started, "")
				endedAt = atLeast(endedAt, started)
				add(i, endedWith(s, started, endedAt, endReason), Failed, endedAt, endReason)
			} else {
				add(i, s, Skipped, atLeast(endedAt, prevFinished), endReason)
			}
			mayRun = false
		case open:
			// Decided once the earlier step ends.
		case s.Terminated != nil:
			term := s.Terminated
			reason := terminationReason(s)
			// A step that did not run is skipped no earlier than the step
			// before it ended (second-resolution times may say otherwise).
			skippedAt := atLeast(term.FinishedAt, prevFinished)
			switch {
			case reason == ReasonSkipped:
				// Exit code 1: an earlier step failed. Exit code 0: the
				// step's `when` expressions were false, and the next step runs.
				add(i, s, Skipped, skippedAt, reason)
				mayRun = mayRun && term.ExitCode == 0
				term = term.DeepCopy()
				term.FinishedAt = skippedAt
			case !mayRun || neverRan(i, s, created):
				// The reconciler stopped the TaskRun (cancel, timeout) while
				// an earlier step executed, or before the pod ran: this step
				// never started, so it is skipped, not failed.
				add(i, s, Skipped, skippedAt, reason)
				mayRun = false
				term = term.DeepCopy()
				term.FinishedAt = skippedAt
			default:
				started := startTime(i, s, prevFinished)
				add(i, s, Started, started, "")
				// Never before its own start: Tekton's timestamps have
				// second resolution, so a short step may show a finish
				// before the previous step's, which started keeps to.
				finished := atLeast(term.FinishedAt, started)
				if succeeded(term.ExitCode, reason) {
					add(i, s, Succeeded, finished, reason)
				} else {
					add(i, s, Failed, finished, reason)
				}
				term = term.DeepCopy()
				term.FinishedAt = finished
				mayRun = succeeded(term.ExitCode, reason) || reason == ReasonContinued
			}
			prevFinished = term.FinishedAt
		case s.Running != nil:
			if executing(i) {
				add(i, s, Started, startTime(i, s, prevFinished), "")
			}
			// The next step waits for this one.
			mayRun, open = false, true
		default:
			mayRun, open = false, true
		}
	}
	return out
}

// AfterReported corrects the transitions for what was already reported
// (reported says which; a step's terminal transition counts as reported
// once any of its terminal transitions was): a step reported started, and
// not ended, cannot be skipped. Its
// status went back: the kubelet rewrites a lost pod's containers as
// waiting, so a step that executed shows as one that never did. It failed
// when its attempt ended, having started when the step before it ended
// (the first step's start is lost with its container: its end is used).
func AfterReported(ts []Transition, reported func(Transition) bool) []Transition {
	out := make([]Transition, len(ts))
	for i, t := range ts {
		started := t
		started.Kind = Started
		if t.Kind == Skipped && reported(started) && !reported(t) {
			start := t.Time
			if prev := i - 1; t.Index > 0 && prev >= 0 && ts[prev].Attempt == t.Attempt && ts[prev].Kind.Terminal() {
				start = ts[prev].Time
			}
			t.Kind = Failed
			t.StepState = endedWith(t.StepState, start, t.Time, t.Reason)
		}
		out[i] = t
	}
	return out
}

// podRunning reports whether the attempt's pod runs its steps. Tekton
// marks a running attempt "Running" only once its pod is; before that
// ("Pending", "PullImageFailed", ...) some container is not created yet, the
// pod never becomes ready, and no entrypoint starts its step, although the
// containers already created show "running".
// A pod that failed to start (podFailedToStart) never ran; the caller
// checks that first.
func podRunning(st *pipelinev1.TaskRunStatus) bool {
	c := st.GetCondition(apis.ConditionSucceeded)
	return c == nil || c.Status != corev1.ConditionUnknown || c.Reason == string(pipelinev1.TaskRunReasonRunning)
}

// podFailedToStart is the reason of an attempt Tekton ended because its
// pod could not start, and when it ended ("" if it did not end so).
func podFailedToStart(st *pipelinev1.TaskRunStatus) (string, metav1.Time) {
	c := st.GetCondition(apis.ConditionSucceeded)
	if c == nil || c.Status != corev1.ConditionFalse {
		return "", metav1.Time{}
	}
	switch c.Reason {
	case ReasonImagePullFailed, ReasonCreateContainerConfigError, ReasonPodCreationFailed:
		reason, at, _ := attemptEnded(st)
		return reason, at
	}
	return "", metav1.Time{}
}

// atLeast is t, or start when t is before it.
func atLeast(t, start metav1.Time) metav1.Time {
	if t.Before(&start) {
		return start
	}
	return t
}

// attemptEnded is the reason and time of an attempt Tekton ended (its
// Succeeded condition no longer Unknown), and whether it ended.
func attemptEnded(st *pipelinev1.TaskRunStatus) (string, metav1.Time, bool) {
	c := st.GetCondition(apis.ConditionSucceeded)
	if c == nil || c.Status == corev1.ConditionUnknown {
		return "", metav1.Time{}, false
	}
	if st.CompletionTime != nil {
		return c.Reason, *st.CompletionTime, true
	}
	return c.Reason, metav1.Time{Time: c.LastTransitionTime.Inner.Time}, true
}

// endedWith is the state of a step that executed when Tekton ended its
// attempt without recording its end, terminated as Tekton's reconciler
// records a step it stops (terminateStepsInPod): exit code 1, the
// attempt's reason, from the step's start to the attempt's end.
func endedWith(s pipelinev1.StepState, started, ended metav1.Time, reason string) pipelinev1.StepState {
	s.Running = nil
	s.Waiting = nil
	s.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, Reason: reason, StartedAt: started, FinishedAt: ended}
	s.TerminationReason = reason
	return s
}

// conditional reports whether step i has `when` expressions. Its container
// runs while the entrypoint evaluates them, so until it terminates the
// step may still turn out Skipped: its started event waits for that.
func conditional(st *pipelinev1.TaskRunStatus, i int) bool {
	return st.TaskSpec != nil && i < len(st.TaskSpec.Steps) && len(st.TaskSpec.Steps[i].When) > 0
}

// terminationReason is Tekton's reason for a terminated step: the one it
// parsed from the entrypoint's termination message, else the container's.
func terminationReason(s pipelinev1.StepState) string {
	if s.TerminationReason != "" {
		return s.TerminationReason
	}
	return s.Terminated.Reason
}

func succeeded(exitCode int32, reason string) bool {
	if exitCode != 0 {
		return false
	}
	switch reason {
	case ReasonCancelled, ReasonTimeoutExceeded, ReasonTaskRunCancel, ReasonTaskRunTimeout:
		return false
	}
	return true
}

// neverRan recognizes a step that never executed although Tekton shows it
// terminated:
//   - any step of a pod that could not start (an image pull, container
//     configuration or creation failure): the pod never ran all its
//     containers, so it never became ready and no entrypoint ran its step,
//     though the containers whose images were there show a start;
//   - a step that the reconciler terminated while its container was still
//     waiting (cancel, TaskRun timeout): terminateStepsInPod then leaves
//     startedAt unset, or sets it to the TaskRun's creation time, because
//     there was no start (a later step after a stopped one is skipped
//     anyway).
func neverRan(i int, s pipelinev1.StepState, created metav1.Time) bool {
	switch terminationReason(s) {
	case ReasonImagePullFailed, ReasonCreateContainerConfigError, ReasonPodCreationFailed:
		return true
	case ReasonTaskRunCancel, ReasonTaskRunTimeout:
		return unset(s.Terminated.StartedAt) || (i == 0 && s.Terminated.StartedAt.Equal(&created))
	}
	return false
}

// startTime is when step i really began. Once terminated, Tekton rewrites
// startedAt from the entrypoint's record of the real start; but a step the
// reconciler stopped (cancel, TaskRun timeout) keeps its container's start,
// shared by all steps, so a later step never starts before the previous one
// finished. While running, the first step started with its container and
// any later step when the previous one finished. A first step terminated
// without a start (a container the kubelet could not start) started when
// it ended, not at time zero.
func startTime(i int, s pipelinev1.StepState, prevFinished metav1.Time) metav1.Time {
	if s.Terminated != nil && !unset(s.Terminated.StartedAt) {
		return atLeast(s.Terminated.StartedAt, prevFinished)
	}
	if i == 0 || prevFinished.IsZero() {
		if s.Running != nil {
			return s.Running.StartedAt
		}
		if s.Terminated != nil && prevFinished.IsZero() {
			return s.Terminated.FinishedAt
		}
	}
	return prevFinished
}

// unset reports whether a container's startedAt says nothing: absent, or
// the Unix epoch, which containerd reports for a container that could not
// start (kubernetes/kubernetes#120331).
func unset(t metav1.Time) bool { return t.Unix() <= 0 }

// Final reports whether the TaskRun's status will not change any more: it
// is complete (done: Tekton does not reconcile a done TaskRun again, and
// for some failures, such as CreateContainerConfigError, sets no
// completionTime), or being deleted (Tekton's controller does not
// reconcile a TaskRun being deleted: a step that was running never
// finishes in its status).
func Final(tr *pipelinev1.TaskRun) bool {
	return tr.Status.CompletionTime != nil || tr.IsDone() || tr.DeletionTimestamp != nil
}
