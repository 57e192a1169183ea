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

package v1alpha1

import "fmt"

// The CloudEvent types a TektonStepSource emits. They are part of the event
// contract documented in the README and must stay stable.
const (
	// StepStartedEventType is sent when a step really begins executing.
	StepStartedEventType = "dev.tekton.event.step.started.v1"
	// StepSucceededEventType is sent when a step terminates with exit code 0.
	StepSucceededEventType = "dev.tekton.event.step.succeeded.v1"
	// StepFailedEventType is sent when a step terminates unsuccessfully,
	// including steps with onError: continue, timeouts and cancellations.
	StepFailedEventType = "dev.tekton.event.step.failed.v1"
	// StepSkippedEventType is sent when Tekton skips a step, because an
	// earlier step failed or the step's `when` expressions were false.
	StepSkippedEventType = "dev.tekton.event.step.skipped.v1"
)

// EventTypes lists every type a TektonStepSource emits, in lifecycle order.
var EventTypes = []string{
	StepStartedEventType,
	StepSucceededEventType,
	StepFailedEventType,
	StepSkippedEventType,
}

// TaskRunEventSource is the CloudEvents `source` attribute of the events
// about the steps of one TaskRun: the TaskRun's API path.
func TaskRunEventSource(namespace, name string) string {
	return fmt.Sprintf("/apis/tekton.dev/v1/namespaces/%s/taskruns/%s", namespace, name)
}
