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

package transitions

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
)

var (
	created = metav1.NewTime(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	podUp   = at(3) // all step containers start together
)

func at(sec int) metav1.Time { return metav1.NewTime(created.Add(time.Duration(sec) * time.Second)) }

// The StepState shapes below are the ones Tekton writes (pkg/pod/status.go,
// the entrypoint's termination message, the reconciler's terminateStepsInPod).

func waiting(name string) pipelinev1.StepState {
	return pipelinev1.StepState{Name: name, Container: "step-" + name,
		ContainerState: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}}
}

func running(name string) pipelinev1.StepState {
	return pipelinev1.StepState{Name: name, Container: "step-" + name,
		ContainerState: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: podUp}}}
}

// exited is a step whose entrypoint wrote a termination message: Tekton
// rewrote startedAt from it and set terminationReason.
func exited(name string, exitCode int32, reason string, start, end int) pipelinev1.StepState {
	containerReason := "Completed"
	if exitCode != 0 {
		containerReason = "Error"
	}
	return pipelinev1.StepState{Name: name, Container: "step-" + name, TerminationReason: reason,
		ContainerState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: exitCode, Reason: containerReason, StartedAt: at(start), FinishedAt: at(end),
		}}}
}

// stoppedByReconciler is what terminateStepsInPod writes when the TaskRun is
// cancelled or times out: exit code 1, the TaskRun reason, and startedAt the
// container's start if it ran, else the TaskRun's creation time.
func stoppedByReconciler(name, reason string, wasRunning bool, end int) pipelinev1.StepState {
	start := created
	if wasRunning {
		start = podUp
	}
	return pipelinev1.StepState{Name: name, Container: "step-" + name, TerminationReason: reason,
		ContainerState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 1, Reason: reason, StartedAt: start, FinishedAt: at(end),
		}}}
}

// noStart is the step as older Tekton releases' terminateStepsInPod write a
// step that was waiting: without a startedAt.
func noStart(s pipelinev1.StepState) pipelinev1.StepState {
	s.Terminated.StartedAt = metav1.Time{}
	return s
}

func taskRun(steps ...pipelinev1.StepState) *pipelinev1.TaskRun {
	tr := &pipelinev1.TaskRun{ObjectMeta: metav1.ObjectMeta{Name: "tr", Namespace: "ns", UID: "uid-1", CreationTimestamp: created}}
	tr.Status.PodName = "tr-pod"
	tr.Status.Steps = steps
	return tr
}

// withReason sets the running attempt's condition reason, as Tekton does
// from the pod's phase ("Running" once the pod runs; "Pending",
// "PullImageFailed", ... before).
func withReason(tr *pipelinev1.TaskRun, reason string) *pipelinev1.TaskRun {
	tr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionUnknown, Reason: reason})
	return tr
}

// withWhen gives the TaskRun's resolved steps (status.taskSpec) a `when`
// expression on the steps at the given indexes.
func withWhen(tr *pipelinev1.TaskRun, conditional ...int) *pipelinev1.TaskRun {
	tr.Status.TaskSpec = &pipelinev1.TaskSpec{}
	for _, s := range tr.Status.Steps {
		tr.Status.TaskSpec.Steps = append(tr.Status.TaskSpec.Steps, pipelinev1.Step{Name: s.Name})
	}
	for _, i := range conditional {
		tr.Status.TaskSpec.Steps[i].When = pipelinev1.StepWhenExpressions{{Input: "main", Operator: "in", Values: []string{"release"}}}
	}
	return tr
}

// summary renders transitions compactly: attempt/step/kind@second[reason].
func summary(ts []Transition) []string {
	var out []string
	for _, t := range ts {
		s := fmt.Sprintf("%d/%s/%s@%d", t.Attempt, t.StepState.Name, t.Kind, int(t.Time.Sub(created.Time).Seconds()))
		if t.Reason != "" {
			s += "[" + t.Reason + "]"
		}
		out = append(out, s)
	}
	return out
}

func TestForTaskRun(t *testing.T) {
	tests := []struct {
		name string
		tr   *pipelinev1.TaskRun
		want []string
	}{{
		name: "pod initializing: nothing started",
		tr:   taskRun(waiting("a"), waiting("b")),
	}, {
		name: "all containers running: only the first step executes",
		tr:   taskRun(running("a"), running("b"), running("c")),
		want: []string{"0/a/started@3"},
	}, {
		// The second step's image is still pulling (or cannot be
		// pulled): the pod is Pending, and no entrypoint runs yet.
		name: "pod pending: the first container runs, its step does not",
		tr:   withReason(taskRun(running("a"), waiting("b")), "Pending"),
	}, {
		name: "pod running: the first step runs",
		tr:   withReason(taskRun(running("a"), running("b")), "Running"),
		want: []string{"0/a/started@3"},
	}, {
		name: "second step starts when the first finished",
		tr:   taskRun(exited("a", 0, "Completed", 4, 10), running("b"), running("c")),
		want: []string{"0/a/started@4", "0/a/succeeded@10[Completed]", "0/b/started@10"},
	}, {
		// Seen with 30 TaskRuns at once: second-resolution timestamps put
		// b's start and finish before a's finish. Started keeps to a's
		// finish, and b's terminal time to its start.
		name: "a short step stamped as finishing before the previous one did",
		tr:   taskRun(exited("a", 0, "Completed", 4, 29), exited("b", 0, "Completed", 28, 28), exited("c", 0, "Completed", 28, 30)),
		want: []string{
			"0/a/started@4", "0/a/succeeded@29[Completed]",
			"0/b/started@29", "0/b/succeeded@29[Completed]",
			"0/c/started@29", "0/c/succeeded@30[Completed]",
		},
	}, {
		// Step a's image was there (its container shows a start), b's
		// cannot be pulled: the pod never ran, so no step did.
		name: "image pull failure: no step ran, though one container started",
		tr: taskRun(stoppedByReconciler("a", ReasonImagePullFailed, true, 40),
			stoppedByReconciler("b", ReasonImagePullFailed, false, 40)),
		want: []string{"0/a/skipped@40[TaskRunImagePullFailed]", "0/b/skipped@40[TaskRunImagePullFailed]"},
	}, {
		name: "a missing Secret or ConfigMap (CreateContainerConfigError): no step ran",
		tr: taskRun(stoppedByReconciler("a", ReasonCreateContainerConfigError, false, 20),
			stoppedByReconciler("b", ReasonCreateContainerConfigError, true, 20)),
		want: []string{"0/a/skipped@20[CreateContainerConfigError]", "0/b/skipped@20[CreateContainerConfigError]"},
	}, {
		// What Tekton (v1.15) writes for a missing Secret: the attempt
		// failed, no completionTime, and the steps left running and waiting.
		name: "CreateContainerConfigError with the steps left as they were: all skipped, none started",
		tr: func() *pipelinev1.TaskRun {
			tr := taskRun(running("a"), waiting("b"))
			tr.Status.Conditions = []apis.Condition{{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse,
				Reason: ReasonCreateContainerConfigError, LastTransitionTime: apis.VolatileTime{Inner: at(7)}}}
			return tr
		}(),
		want: []string{"0/a/skipped@7[CreateContainerConfigError]", "0/b/skipped@7[CreateContainerConfigError]"},
	}, {
		name: "all succeed, seen in one update (jump from nothing to terminated)",
		tr:   taskRun(exited("a", 0, "Completed", 4, 10), exited("b", 0, "Completed", 10, 12), exited("c", 0, "Completed", 12, 15)),
		want: []string{
			"0/a/started@4", "0/a/succeeded@10[Completed]",
			"0/b/started@10", "0/b/succeeded@12[Completed]",
			"0/c/started@12", "0/c/succeeded@15[Completed]",
		},
	}, {
		name: "failure, the next step still shows running: it never starts",
		tr:   taskRun(exited("a", 0, "Completed", 4, 10), exited("b", 1, "Error", 10, 11), running("c")),
		want: []string{"0/a/started@4", "0/a/succeeded@10[Completed]", "0/b/started@10", "0/b/failed@11[Error]"},
	}, {
		// What Tekton (v1.15) writes when a step is killed for memory:
		// the kill takes the step's entrypoint with it (no termination
		// message, so no terminationReason, and its container's start),
		// Tekton counts the pod done at once, and the next step, whose
		// entrypoint waits for ever, stays running.
		name: "a step killed for memory: failed OOMKilled, the next one left running is skipped",
		tr: func() *pipelinev1.TaskRun {
			oom := exited("b", 137, "", 2, 30)
			oom.Terminated.Reason = "OOMKilled"
			tr := taskRun(exited("a", 0, "Completed", 4, 10), oom, running("c"))
			tr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse, Reason: "StepOOM"})
			end := at(34)
			tr.Status.CompletionTime = &end
			return tr
		}(),
		want: []string{"0/a/started@4", "0/a/succeeded@10[Completed]", "0/b/started@10", "0/b/failed@30[OOMKilled]",
			"0/c/skipped@34[StepOOM]"},
	}, {
		name: "an attempt ended while a step executed, without its end: it fails with the attempt, the rest are skipped",
		tr: func() *pipelinev1.TaskRun {
			tr := taskRun(exited("a", 0, "Completed", 4, 10), running("b"), waiting("c"))
			tr.Status.Conditions = []apis.Condition{{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse,
				Reason: "SidecarOOM", LastTransitionTime: apis.VolatileTime{Inner: at(25)}}}
			return tr
		}(),
		want: []string{"0/a/started@4", "0/a/succeeded@10[Completed]", "0/b/started@10", "0/b/failed@25[SidecarOOM]",
			"0/c/skipped@25[SidecarOOM]"},
	}, {
		// Seen on the local cluster (e2e TestPodEvictedForStorage): the
		// kubelet evicted the pod while b executed and reported its
		// containers waiting again.
		name: "a pod evicted while a later step executed: the step after the finished one fails, the rest are skipped",
		tr: func() *pipelinev1.TaskRun {
			tr := taskRun(exited("a", 0, "Completed", 4, 10), waiting("b"), waiting("c"))
			tr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse, Reason: "PodEvicted"})
			end := at(22)
			tr.Status.CompletionTime = &end
			return tr
		}(),
		want: []string{"0/a/started@4", "0/a/succeeded@10[Completed]", "0/b/started@10", "0/b/failed@22[PodEvicted]",
			"0/c/skipped@22[PodEvicted]"},
	}, {
		name: "a pod evicted before its first step ran: all skipped",
		tr: func() *pipelinev1.TaskRun {
			tr := taskRun(waiting("a"), waiting("b"))
			tr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse, Reason: "PodEvicted"})
			end := at(22)
			tr.Status.CompletionTime = &end
			return tr
		}(),
		want: []string{"0/a/skipped@22[PodEvicted]", "0/b/skipped@22[PodEvicted]"},
	}, {
		// Seen with ten TaskRuns at once on the local cluster: the status
		// showed the next step terminated while this one still ran.
		name: "a later step terminated while an earlier one still shows running: it waits for it",
		tr:   taskRun(exited("a", 0, "Completed", 4, 10), running("b"), exited("c", 0, "Completed", 12, 12)),
		want: []string{"0/a/started@4", "0/a/succeeded@10[Completed]", "0/b/started@10"},
	}, {
		name: "failure then skipped steps",
		tr: taskRun(exited("a", 0, "Completed", 4, 10), exited("b", 1, "Error", 10, 11),
			exited("c", 1, "Skipped", 11, 11), exited("d", 1, "Skipped", 11, 11)),
		want: []string{"0/a/started@4", "0/a/succeeded@10[Completed]", "0/b/started@10", "0/b/failed@11[Error]",
			"0/c/skipped@11[Skipped]", "0/d/skipped@11[Skipped]"},
	}, {
		name: "step skipped by a false when expression: the next step runs",
		tr:   taskRun(exited("a", 0, "Skipped", 4, 4), exited("b", 0, "Completed", 4, 9)),
		want: []string{"0/a/skipped@4[Skipped]", "0/b/started@4", "0/b/succeeded@9[Completed]"},
	}, {
		name: "when-skipped step, next one running",
		tr:   taskRun(exited("a", 0, "Skipped", 4, 5), running("b")),
		want: []string{"0/a/skipped@5[Skipped]", "0/b/started@5"},
	}, {
		name: "running step with when expressions: not started until it turns out to run",
		tr:   withWhen(taskRun(exited("a", 0, "Completed", 4, 5), running("b")), 1),
		want: []string{"0/a/started@4", "0/a/succeeded@5[Completed]"},
	}, {
		name: "step with when expressions that ran: started and terminal together",
		tr:   withWhen(taskRun(exited("a", 0, "Completed", 4, 5), exited("b", 0, "Completed", 5, 8)), 1),
		want: []string{"0/a/started@4", "0/a/succeeded@5[Completed]", "0/b/started@5", "0/b/succeeded@8[Completed]"},
	}, {
		name: "step with when expressions skipped: no started",
		tr:   withWhen(taskRun(exited("a", 0, "Completed", 4, 5), exited("b", 0, "Skipped", 5, 5)), 1),
		want: []string{"0/a/started@4", "0/a/succeeded@5[Completed]", "0/b/skipped@5[Skipped]"},
	}, {
		name: "onError continue: failed, and the TaskRun goes on",
		tr:   taskRun(exited("a", 3, "Continued", 4, 6), exited("b", 0, "Completed", 6, 8)),
		want: []string{"0/a/started@4", "0/a/failed@6[Continued]", "0/b/started@6", "0/b/succeeded@8[Completed]"},
	}, {
		name: "step timeout written by the entrypoint",
		tr:   taskRun(exited("a", 1, "TimeoutExceeded", 4, 34), exited("b", 1, "Skipped", 34, 34)),
		want: []string{"0/a/started@4", "0/a/failed@34[TimeoutExceeded]", "0/b/skipped@34[Skipped]"},
	}, {
		name: "TaskRun timeout: the executing step fails, later ones never ran",
		tr: taskRun(exited("a", 0, "Completed", 4, 10),
			stoppedByReconciler("b", "TaskRunTimeout", true, 60), stoppedByReconciler("c", "TaskRunTimeout", true, 60)),
		want: []string{"0/a/started@4", "0/a/succeeded@10[Completed]", "0/b/started@10", "0/b/failed@60[TaskRunTimeout]", "0/c/skipped@60[TaskRunTimeout]"},
	}, {
		name: "cancelled while the first step executes",
		tr:   taskRun(stoppedByReconciler("a", "TaskRunCancelled", true, 20), stoppedByReconciler("b", "TaskRunCancelled", true, 20)),
		want: []string{"0/a/started@3", "0/a/failed@20[TaskRunCancelled]", "0/b/skipped@20[TaskRunCancelled]"},
	}, {
		name: "cancelled before the pod ran: nothing started",
		tr:   taskRun(stoppedByReconciler("a", "TaskRunCancelled", false, 2), stoppedByReconciler("b", "TaskRunCancelled", false, 2)),
		want: []string{"0/a/skipped@2[TaskRunCancelled]", "0/b/skipped@2[TaskRunCancelled]"},
	}, {
		name: "cancelled while the steps waited, their start left unset: nothing started",
		tr:   taskRun(noStart(stoppedByReconciler("a", "TaskRunCancelled", false, 2)), noStart(stoppedByReconciler("b", "TaskRunCancelled", false, 2))),
		want: []string{"0/a/skipped@2[TaskRunCancelled]", "0/b/skipped@2[TaskRunCancelled]"},
	}, {
		name: "a container that could not start (no startedAt): started when it ended, not at time zero",
		tr: taskRun(pipelinev1.StepState{Name: "a", Container: "step-a", ContainerState: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: 128, Reason: "StartError", FinishedAt: at(5)}}}),
		want: []string{"0/a/started@5", "0/a/failed@5[StartError]"},
	}, {
		name: "a container that could not start, startedAt the Unix epoch (containerd): started when it ended",
		tr: taskRun(pipelinev1.StepState{Name: "a", Container: "step-a", ContainerState: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: 128, Reason: "StartError", StartedAt: metav1.Unix(0, 0), FinishedAt: at(5)}}}),
		want: []string{"0/a/started@5", "0/a/failed@5[StartError]"},
	}, {
		name: "an attempt ended before the failed step's end by the controller's clock: the step left waiting is skipped at that end",
		tr: func() *pipelinev1.TaskRun {
			tr := taskRun(exited("a", 1, "Error", 4, 10), waiting("b"))
			done := at(9)
			tr.Status.CompletionTime = &done
			tr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse, Reason: "Failed"})
			return tr
		}(),
		want: []string{"0/a/started@4", "0/a/failed@10[Error]", "0/b/skipped@10[Failed]"},
	}, {
		name: "a step skipped stamped before the previous step's end: skipped at that end",
		tr: taskRun(exited("a", 0, "Completed", 4, 10), exited("b", 1, "Error", 10, 12),
			exited("c", 1, "Skipped", 11, 11), exited("d", 1, "Skipped", 11, 11)),
		want: []string{"0/a/started@4", "0/a/succeeded@10[Completed]", "0/b/started@10", "0/b/failed@12[Error]",
			"0/c/skipped@12[Skipped]", "0/d/skipped@12[Skipped]"},
	}, {
		name: "cancelled through the entrypoint",
		tr:   taskRun(exited("a", 0, "Cancelled", 4, 9)),
		want: []string{"0/a/started@4", "0/a/failed@9[Cancelled]"},
	}, {
		name: "container killed without a termination message",
		tr: taskRun(pipelinev1.StepState{Name: "a", Container: "step-a", ContainerState: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled", StartedAt: podUp, FinishedAt: at(8)}}}),
		want: []string{"0/a/started@3", "0/a/failed@8[OOMKilled]"},
	}, {
		name: "unnamed steps",
		tr:   taskRun(exited("unnamed-0", 0, "Completed", 4, 5), running("unnamed-1")),
		want: []string{"0/unnamed-0/started@4", "0/unnamed-0/succeeded@5[Completed]", "0/unnamed-1/started@5"},
	}, {
		name: "retry: the failed attempt, then the new one",
		tr: func() *pipelinev1.TaskRun {
			tr := taskRun(running("a"))
			tr.Status.PodName = "tr-pod-retry1"
			done := at(11)
			tr.Status.RetriesStatus = []pipelinev1.TaskRunStatus{{TaskRunStatusFields: pipelinev1.TaskRunStatusFields{
				PodName: "tr-pod", CompletionTime: &done,
				Steps: []pipelinev1.StepState{exited("a", 1, "Error", 4, 10), exited("b", 1, "Skipped", 10, 10)},
			}}}
			return tr
		}(),
		want: []string{"0/a/started@4", "0/a/failed@10[Error]", "0/b/skipped@10[Skipped]", "1/a/started@3"},
	}, {
		name: "retry just archived: Tekton cleared podName but left the old steps",
		tr: func() *pipelinev1.TaskRun {
			old := []pipelinev1.StepState{exited("a", 1, "Error", 4, 10), exited("b", 1, "Skipped", 10, 10)}
			tr := taskRun(old...)
			tr.Status.PodName = ""
			tr.Status.RetriesStatus = []pipelinev1.TaskRunStatus{{TaskRunStatusFields: pipelinev1.TaskRunStatusFields{
				PodName: "tr-pod", Steps: old,
			}}}
			return tr
		}(),
		want: []string{"0/a/started@4", "0/a/failed@10[Error]", "0/b/skipped@10[Skipped]"},
	}, {
		name: "retry pod created but not reporting yet: the old steps are still shown",
		tr: func() *pipelinev1.TaskRun {
			old := []pipelinev1.StepState{exited("a", 1, "Error", 4, 10)}
			tr := taskRun(old...)
			tr.Status.PodName = "tr-pod-retry1"
			tr.Status.RetriesStatus = []pipelinev1.TaskRunStatus{{TaskRunStatusFields: pipelinev1.TaskRunStatusFields{
				PodName: "tr-pod", Steps: old,
			}}}
			return tr
		}(),
		want: []string{"0/a/started@4", "0/a/failed@10[Error]"},
	}, {
		name: "sidecars and init containers are not steps",
		tr: func() *pipelinev1.TaskRun {
			tr := taskRun(waiting("a"))
			tr.Status.Sidecars = []pipelinev1.SidecarState{{Name: "db", Container: "sidecar-db",
				ContainerState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, FinishedAt: at(5)}}}}
			return tr
		}(),
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ForTaskRun(tc.tr, time.Time{})
			if diff := cmp.Diff(tc.want, summary(got)); diff != "" {
				t.Errorf("transitions (-want +got):\n%s", diff)
			}
			checkInvariants(t, got)
			for _, tr := range got {
				wantPod := tc.tr.Status.PodName
				if tr.Attempt < len(tc.tr.Status.RetriesStatus) {
					wantPod = tc.tr.Status.RetriesStatus[tr.Attempt].PodName
				}
				if tr.PodName != wantPod {
					t.Errorf("%s: pod %q, want %q", tr.ID(tc.tr.UID), tr.PodName, wantPod)
				}
			}
		})
	}
}

// TestForTaskRunGrowsMonotonically replays how Tekton updates a failing
// TaskRun and checks that each list extends the previous one: this is what
// makes "how far down the list" a valid checkpoint.
func TestForTaskRunGrowsMonotonically(t *testing.T) {
	snapshots := []*pipelinev1.TaskRun{
		taskRun(waiting("a"), waiting("b"), waiting("c")),
		taskRun(running("a"), running("b"), running("c")),
		taskRun(exited("a", 0, "Completed", 4, 10), running("b"), running("c")),
		taskRun(exited("a", 0, "Completed", 4, 10), exited("b", 1, "Error", 10, 11), running("c")),
		taskRun(exited("a", 0, "Completed", 4, 10), exited("b", 1, "Error", 10, 11), exited("c", 1, "Skipped", 11, 11)),
	}
	var prev []Transition
	for i, tr := range snapshots {
		got := ForTaskRun(tr, time.Time{})
		if len(got) < len(prev) {
			t.Fatalf("snapshot %d: list shrank from %d to %d", i, len(prev), len(got))
		}
		for j := range prev {
			if prev[j].ID(tr.UID) != got[j].ID(tr.UID) {
				t.Fatalf("snapshot %d: transition %d changed from %s to %s", i, j, prev[j].ID(tr.UID), got[j].ID(tr.UID))
			}
		}
		prev = got
	}
}

func TestForTaskRunSkipsHistory(t *testing.T) {
	done := at(20)
	finished := taskRun(exited("a", 0, "Completed", 4, 10))
	finished.Status.CompletionTime = &done
	if got := ForTaskRun(finished, done.Add(time.Second)); len(got) != 0 {
		t.Errorf("a TaskRun finished before the source existed produced %v", summary(got))
	}
	if got := ForTaskRun(finished, done.Add(-time.Second)); len(got) != 2 {
		t.Errorf("a TaskRun finished after the source was created produced %v, want 2 transitions", summary(got))
	}
	// An old failed attempt is history; the running retry is not.
	retried := taskRun(running("a"))
	retried.Status.RetriesStatus = []pipelinev1.TaskRunStatus{{TaskRunStatusFields: pipelinev1.TaskRunStatusFields{
		CompletionTime: &done, Steps: []pipelinev1.StepState{exited("a", 1, "Error", 4, 10)},
	}}}
	if diff := cmp.Diff([]string{"1/a/started@3"}, summary(ForTaskRun(retried, done.Add(time.Second)))); diff != "" {
		t.Errorf("retried TaskRun (-want +got):\n%s", diff)
	}
}

func TestAfterReported(t *testing.T) {
	// Evicted while the first step executed: the status shows every step
	// waiting, and the first was reported started when it showed running.
	evicted := func(steps ...pipelinev1.StepState) *pipelinev1.TaskRun {
		tr := taskRun(steps...)
		tr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse, Reason: "PodEvicted"})
		end := at(22)
		tr.Status.CompletionTime = &end
		return tr
	}
	tests := []struct {
		name     string
		tr       *pipelinev1.TaskRun
		reported []string // ids of the transitions already reported
		want     []string
	}{{
		name:     "first step reported started, now shown waiting: it failed",
		tr:       evicted(waiting("a"), waiting("b")),
		reported: []string{"uid-1.0.a.started"},
		want:     []string{"0/a/failed@22[PodEvicted]", "0/b/skipped@22[PodEvicted]"},
	}, {
		name:     "a later step reported started: it failed from the previous step's end",
		tr:       evicted(exited("a", 0, "Completed", 4, 10), exited("b", 0, "Completed", 10, 12), waiting("c")),
		reported: []string{"uid-1.0.a.started", "uid-1.0.a.succeeded", "uid-1.0.b.started", "uid-1.0.b.succeeded", "uid-1.0.c.started"},
		want: []string{"0/a/started@4", "0/a/succeeded@10[Completed]", "0/b/started@10", "0/b/succeeded@12[Completed]",
			"0/c/started@12", "0/c/failed@22[PodEvicted]"},
	}, {
		name:     "a step reported skipped stays skipped",
		tr:       evicted(waiting("a"), waiting("b")),
		reported: []string{"uid-1.0.a.skipped", "uid-1.0.b.skipped"},
		want:     []string{"0/a/skipped@22[PodEvicted]", "0/b/skipped@22[PodEvicted]"},
	}, {
		name: "nothing reported: skipped stays skipped",
		tr:   evicted(waiting("a"), waiting("b")),
		want: []string{"0/a/skipped@22[PodEvicted]", "0/b/skipped@22[PodEvicted]"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reported := map[string]bool{}
			for _, id := range tc.reported {
				reported[id] = true
			}
			// As the checkpoint answers: a step's terminal transitions
			// are one level, so any reported terminal counts for all.
			got := AfterReported(ForTaskRun(tc.tr, time.Time{}), func(x Transition) bool {
				if x.Kind == Started {
					return reported[x.ID(tc.tr.UID)]
				}
				for _, k := range []Kind{Succeeded, Failed, Skipped} {
					x.Kind = k
					if reported[x.ID(tc.tr.UID)] {
						return true
					}
				}
				return false
			})
			if diff := cmp.Diff(tc.want, summary(got)); diff != "" {
				t.Errorf("transitions (-want +got):\n%s", diff)
			}
			for _, x := range got {
				if x.Kind != Failed {
					continue
				}
				term := x.StepState.Terminated
				if term == nil || term.ExitCode == 0 || term.FinishedAt != x.Time || term.StartedAt.After(x.Time.Time) {
					t.Errorf("%s: terminated state %+v, want a non-zero exit code from its start to %s", x.ID(tc.tr.UID), term, x.Time)
				}
			}
		})
	}
}

func TestTransitionIDsAndTypes(t *testing.T) {
	tr := taskRun(exited("a", 1, "Continued", 4, 6), exited("b", 1, "Skipped", 6, 6))
	got := ForTaskRun(tr, time.Time{})
	var ids, types, sequences []string
	for _, x := range got {
		ids = append(ids, x.ID(tr.UID))
		types = append(types, x.Kind.EventType())
		sequences = append(sequences, x.Sequence())
	}
	if diff := cmp.Diff([]string{"00000-00000-0", "00000-00000-1", "00000-00001-1"}, sequences); diff != "" {
		t.Errorf("sequences (-want +got):\n%s", diff)
	}
	// Across attempts: the retry's first start sorts after the failed
	// attempt's last transition.
	if retry, last := (Transition{Attempt: 1, Index: 0, Kind: Started}).Sequence(), got[len(got)-1].Sequence(); retry <= last || retry != "00001-00000-0" {
		t.Errorf("the next attempt's first sequence %q must sort after %q", retry, last)
	}
	if diff := cmp.Diff([]string{"uid-1.0.a.started", "uid-1.0.a.failed", "uid-1.0.b.skipped"}, ids); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"dev.tekton.event.step.started.v1", "dev.tekton.event.step.failed.v1", "dev.tekton.event.step.skipped.v1"}, types); diff != "" {
		t.Errorf("types (-want +got):\n%s", diff)
	}
	if !got[1].Continued() || got[0].Continued() {
		t.Error("Continued() must be true only on the failed transition of an onError: continue step")
	}
}

// checkInvariants asserts what every transition list must satisfy: unique
// ids, at most one terminal per step and attempt, started before terminal
// (in order and in time), no started for skipped steps, and sequences
// that sort in list order.
func checkInvariants(t testing.TB, ts []Transition) {
	t.Helper()
	ids := map[string]bool{}
	startedSeen := map[string]bool{}
	startedAt := map[string]metav1.Time{}
	terminal := map[string]Kind{}
	for i, tr := range ts {
		if i > 0 && tr.Sequence() <= ts[i-1].Sequence() {
			t.Errorf("sequence %q of %s does not sort after %q", tr.Sequence(), tr.ID("uid"), ts[i-1].Sequence())
		}
		id := tr.ID("uid")
		if ids[id] {
			t.Errorf("duplicate id %s", id)
		}
		ids[id] = true
		step := fmt.Sprintf("%d/%s", tr.Attempt, tr.StepState.Name)
		if k, ok := terminal[step]; ok {
			t.Errorf("%s: %s after terminal %s", step, tr.Kind, k)
		}
		switch tr.Kind {
		case Started:
			startedSeen[step] = true
			startedAt[step] = tr.Time
		case Skipped:
			if startedSeen[step] {
				t.Errorf("%s: skipped after started", step)
			}
			terminal[step] = tr.Kind
		default:
			if !startedSeen[step] {
				t.Errorf("%s: %s without started", step, tr.Kind)
			}
			if start := startedAt[step]; tr.Time.Before(&start) {
				t.Errorf("%s: %s at %s, before its start at %s", step, tr.Kind, tr.Time, start)
			}
			terminal[step] = tr.Kind
		}
		if strings.TrimSpace(tr.StepState.Name) == "" {
			t.Errorf("transition without a step name: %+v", tr)
		}
	}
}
