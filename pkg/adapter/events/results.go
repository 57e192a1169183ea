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

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/result"
)

// withResults is the step's state with its results. Tekton fills
// stepState.results only once the TaskRun is done, while a step's terminal
// event goes out when the step ends; its results are in the termination
// message the entrypoint wrote by then. So until Tekton has them, they are
// read from it as Tekton reads them (pkg/pod/status.go, filterResults):
// step results the step declares, typed as declared.
func withResults(state pipelinev1.StepState, step *pipelinev1.Step) pipelinev1.StepState {
	if len(state.Results) > 0 || state.Terminated == nil || state.Terminated.Message == "" || step == nil || len(step.Results) == 0 {
		return state
	}
	var written []result.RunResult
	if err := json.Unmarshal([]byte(state.Terminated.Message), &written); err != nil {
		// Not the entrypoint's message (a container killed): no results.
		return state
	}
	declared := map[string]pipelinev1.ResultsType{}
	for _, r := range step.Results {
		declared[r.Name] = r.Type
	}
	var results []pipelinev1.TaskRunStepResult
	for _, r := range written {
		typ, ok := declared[r.Key]
		if r.ResultType != result.StepResultType || !ok {
			continue
		}
		if typ == "" || typ == pipelinev1.ResultsTypeString {
			results = append(results, pipelinev1.TaskRunStepResult{Name: r.Key, Type: pipelinev1.ResultsTypeString, Value: *pipelinev1.NewStructuredValues(r.Value)})
			continue
		}
		v := pipelinev1.ResultValue{}
		if err := v.UnmarshalJSON([]byte(r.Value)); err != nil {
			continue
		}
		results = append(results, pipelinev1.TaskRunStepResult{Name: r.Key, Type: pipelinev1.ResultsType(v.Type), Value: v})
	}
	state = *state.DeepCopy()
	state.Results = results
	return state
}
