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
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var fuzzReasons = []string{"", ReasonCompleted, "Error", ReasonSkipped, ReasonContinued, ReasonCancelled,
	ReasonTimeoutExceeded, ReasonTaskRunCancel, ReasonTaskRunTimeout, "OOMKilled", "SomethingNew"}

// taskRunFromBytes turns fuzz input into an arbitrary TaskRun shape: any mix
// of waiting, running and terminated steps with any exit codes, reasons and
// times, over any number of attempts, including shapes Tekton never writes.
func taskRunFromBytes(data []byte) *pipelinev1.TaskRun {
	tr := &pipelinev1.TaskRun{ObjectMeta: metav1.ObjectMeta{Name: "f", Namespace: "ns", UID: "u", CreationTimestamp: created}}
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	attempts := int(next() % 3)
	for a := 0; a <= attempts; a++ {
		st := pipelinev1.TaskRunStatus{}
		st.PodName = fmt.Sprintf("pod-%d", a)
		if next()%2 == 1 {
			done := at(int(next()))
			st.CompletionTime = &done
		}
		steps := int(next() % 6)
		for i := 0; i < steps; i++ {
			name := fmt.Sprintf("s%d", next()%8) // names may repeat: malformed input
			s := pipelinev1.StepState{Name: name, Container: "step-" + name}
			switch next() % 4 {
			case 0:
				s.Waiting = &corev1.ContainerStateWaiting{}
			case 1:
				s.Running = &corev1.ContainerStateRunning{StartedAt: at(int(next()))}
			case 2:
				s.Terminated = &corev1.ContainerStateTerminated{
					ExitCode:   int32(next()%3) - 1,
					Reason:     fuzzReasons[int(next())%len(fuzzReasons)],
					StartedAt:  at(int(next()) - 10),
					FinishedAt: at(int(next())),
				}
				s.TerminationReason = fuzzReasons[int(next())%len(fuzzReasons)]
			}
			st.Steps = append(st.Steps, s)
		}
		if a < attempts {
			tr.Status.RetriesStatus = append(tr.Status.RetriesStatus, st)
		} else {
			retries := tr.Status.RetriesStatus
			tr.Status = st
			tr.Status.RetriesStatus = retries
		}
	}
	return tr
}

// FuzzForTaskRun checks that no TaskRun shape makes ForTaskRun panic or
// break the invariants: ids unique, started before terminal, one terminal
// per step, no started for a skipped step, and the same result every time.
func FuzzForTaskRun(f *testing.F) {
	for _, seed := range [][]byte{
		{},
		{0, 0, 3, 0, 1, 1, 1, 2, 1, 1},
		{0, 0, 3, 0, 2, 1, 1, 4, 10, 1, 2, 2, 2, 1, 4, 11, 2, 3, 2, 0, 3, 5, 12, 3},
		{1, 1, 30, 2, 0, 2, 2, 2, 4, 20, 1, 0, 1, 3, 0, 1, 0},
		{2, 0, 1, 0, 2, 0, 8, 0, 0, 9, 7, 0, 1, 2, 0, 5, 0, 50, 8},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tr := taskRunFromBytes(data)
		got := ForTaskRun(tr, time.Time{})
		if !uniqueStepNames(tr) {
			// Duplicate step names are malformed (Tekton forbids them); only
			// require that nothing panics.
			return
		}
		checkInvariants(t, got)
		again := ForTaskRun(tr, time.Time{})
		if fmt.Sprint(summary(got)) != fmt.Sprint(summary(again)) {
			t.Errorf("not deterministic: %v vs %v", summary(got), summary(again))
		}
	})
}

func uniqueStepNames(tr *pipelinev1.TaskRun) bool {
	statuses := append([]pipelinev1.TaskRunStatus{tr.Status}, tr.Status.RetriesStatus...)
	for _, st := range statuses {
		seen := map[string]bool{}
		for _, s := range st.Steps {
			if seen[s.Name] {
				return false
			}
			seen[s.Name] = true
		}
	}
	return true
}
