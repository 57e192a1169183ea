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
	"testing"

	"github.com/google/go-cmp/cmp"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestWithResults: a terminated step's results, before Tekton copies them
// into stepState (only once the TaskRun is done), come from its
// termination message: the one below is what the entrypoint wrote on the
// local cluster for `printf sha256:0123abcd > $(step.results.digest.path)`.
func TestWithResults(t *testing.T) {
	const message = `[{"key":"digest","value":"sha256:0123abcd","type":4},{"key":"tags","value":"[\"a\",\"b\"]","type":4},` +
		`{"key":"undeclared","value":"x","type":4},{"key":"task","value":"y","type":1},{"key":"StartedAt","value":"2026-12-02T02:35:52.1Z","type":3}]`
	step := &pipelinev1.Step{Name: "produce", Results: []pipelinev1.StepResult{{Name: "digest"}, {Name: "tags", Type: pipelinev1.ResultsTypeArray}}}
	terminated := func(msg string) pipelinev1.StepState {
		return pipelinev1.StepState{Name: "produce", ContainerState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Message: msg}}}
	}
	done := terminated(message)
	done.Results = []pipelinev1.TaskRunStepResult{{Name: "digest", Type: pipelinev1.ResultsTypeString, Value: *pipelinev1.NewStructuredValues("from-tekton")}}
	tests := []struct {
		name  string
		state pipelinev1.StepState
		step  *pipelinev1.Step
		want  []pipelinev1.TaskRunStepResult
	}{{
		name:  "from the termination message, declared step results only, typed",
		state: terminated(message), step: step,
		want: []pipelinev1.TaskRunStepResult{
			{Name: "digest", Type: pipelinev1.ResultsTypeString, Value: *pipelinev1.NewStructuredValues("sha256:0123abcd")},
			{Name: "tags", Type: pipelinev1.ResultsTypeArray, Value: *pipelinev1.NewStructuredValues("a", "b")},
		},
	}, {
		name: "Tekton's own once it has them", state: done, step: step, want: done.Results,
	}, {
		name: "a message that is not the entrypoint's", state: terminated("OOMKilled"), step: step,
	}, {
		name: "a step that declares none", state: terminated(message), step: &pipelinev1.Step{Name: "produce"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, withResults(tc.state, tc.step).Results); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
		})
	}
}
