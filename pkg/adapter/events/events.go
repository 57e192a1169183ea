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

// Package events builds the CloudEvent of a step transition: the stable
// event contract documented in docs/events.md.
package events

import (
	"fmt"
	"strconv"
	"strings"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/masking"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/steplog"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// Extension attributes, so Broker Triggers can filter without reading data.
const (
	ExtTaskRun      = "tektontaskrun"
	ExtTask         = "tektontask"
	ExtPipelineRun  = "tektonpipelinerun"
	ExtPipeline     = "tektonpipeline"
	ExtPipelineTask = "tektonpipelinetask"
	ExtStep         = "tektonstep"
	ExtNamespace    = "tektonnamespace"
	ExtAttempt      = "tektonattempt"

	// ExtSequence is the CloudEvents sequence extension: the transition's
	// place among its TaskRun's (one source's) transitions, sorting
	// lexicographically in transition order across attempts.
	ExtSequence = "sequence"
	// ExtPartitionKey is the CloudEvents partitioning extension, the
	// TaskRun (<namespace>/<name>): Kafka-backed Brokers and Channels keep
	// one key's events in order.
	ExtPartitionKey = "partitionkey"
	// ExtReplay marks a re-sent event (spec.replays): the replay's name.
	// Live events do not carry it, so a Trigger filter such as the CESQL
	// expression "NOT EXISTS replay" keeps replays from a consumer.
	ExtReplay = "replay"
)

// pipelineExtensions sets the extensions that place the TaskRun in a
// PipelineRun: only for a TaskRun a PipelineRun controls (its controller
// owner reference, which Tekton sets on the TaskRuns it creates), and from
// that reference. Labels alone are the TaskRun author's word: a standalone
// TaskRun labelled tekton.dev/pipelineRun would otherwise fire the
// Triggers of a pipeline it is no part of. Tekton's own labels for the
// pipeline and the pipeline task are taken only when its pipelineRun label
// names the controlling PipelineRun, as Tekton writes them together.
func pipelineExtensions(e *cloudevents.Event, tr *pipelinev1.TaskRun) {
	owner := metav1.GetControllerOfNoCopy(tr)
	if owner == nil || owner.Kind != "PipelineRun" || !strings.HasPrefix(owner.APIVersion, pipeline.GroupName+"/") || owner.Name == "" {
		return
	}
	e.SetExtension(ExtPipelineRun, owner.Name)
	if tr.Labels[pipeline.PipelineRunLabelKey] != owner.Name {
		return
	}
	for label, ext := range map[string]string{pipeline.PipelineLabelKey: ExtPipeline, pipeline.PipelineTaskLabelKey: ExtPipelineTask} {
		if v := tr.Labels[label]; v != "" {
			e.SetExtension(ext, v)
		}
	}
}

// Data is the payload of every step event.
type Data struct {
	TaskRun TaskRunRef `json:"taskRun"`
	// PodRef is the pod that ran the attempt (absent before Tekton created it).
	PodRef *corev1.ObjectReference `json:"podRef,omitempty"`
	// Step is the step's definition from status.taskSpec, with literal
	// environment values redacted unless plainly not secret.
	Step *pipelinev1.Step `json:"step,omitempty"`
	// StepState is the step's state as Tekton reported it.
	StepState pipelinev1.StepState `json:"stepState"`
	// Reason is Tekton's termination reason for terminal transitions.
	Reason string `json:"reason,omitempty"`
	// Continued is true on a failed step with onError: continue: the step
	// failed but the TaskRun went on.
	Continued bool `json:"continued,omitempty"`
	// Log is the tail of the step's log (succeeded and failed events).
	Log *string `json:"log,omitempty"`
	// LogTruncated is true when Log holds only the tail.
	LogTruncated bool `json:"logTruncated,omitempty"`
	// LogError says why the log could not be read.
	LogError string `json:"logError,omitempty"`
}

// TaskRunRef identifies the TaskRun attempt.
type TaskRunRef struct {
	Name      string    `json:"name"`
	Namespace string    `json:"namespace"`
	UID       types.UID `json:"uid"`
	Attempt   int       `json:"attempt"`
}

// New builds the event of a transition: its attributes (Attributes) and
// its data (SetData).
func New(tr *pipelinev1.TaskRun, t transitions.Transition, log *steplog.Log, m *masking.Masker) (cloudevents.Event, error) {
	e := Attributes(tr, t)
	return e, SetData(&e, tr, t, log, m)
}

// Attributes is the event of a transition without its data: every
// attribute and extension it has, which is all a filter can test. They
// need no read of anything but the TaskRun, and no masking: nothing in
// them comes from a step's output.
func Attributes(tr *pipelinev1.TaskRun, t transitions.Transition) cloudevents.Event {
	e := cloudevents.NewEvent()
	e.SetDataContentType(cloudevents.ApplicationJSON)
	e.SetID(t.ID(tr.UID))
	e.SetType(t.Kind.EventType())
	e.SetSource(v1alpha1.TaskRunEventSource(tr.Namespace, tr.Name))
	e.SetSubject(t.StepState.Name)
	e.SetDataSchema(v1alpha1.StepEventDataSchema)
	e.SetTime(t.Time.Time)
	e.SetExtension(ExtTaskRun, tr.Name)
	e.SetExtension(ExtStep, t.StepState.Name)
	e.SetExtension(ExtNamespace, tr.Namespace)
	e.SetExtension(ExtAttempt, int32(t.Attempt))
	e.SetExtension(ExtSequence, t.Sequence())
	e.SetExtension(ExtPartitionKey, tr.Namespace+"/"+tr.Name)
	if v := tr.Labels[pipeline.TaskLabelKey]; v != "" {
		// The TaskRun author's word, as the TaskRun's name is
		// (docs/security.md, untrusted inputs).
		e.SetExtension(ExtTask, v)
	}
	pipelineExtensions(&e, tr)
	return e
}

// SetData sets the event's data: the transition, the step's definition
// and, when log is not nil, the step's log (nil for started and skipped
// events, or with logs off). m masks the secrets in what the data carries
// (the log, the step's script, args, command and env values, its results
// and termination message); nil masks nothing.
func SetData(e *cloudevents.Event, tr *pipelinev1.TaskRun, t transitions.Transition, log *steplog.Log, m *masking.Masker) error {
	step := FindStep(tr.Status.TaskSpec, t.StepState.Name)
	data := Data{
		TaskRun:   TaskRunRef{Name: tr.Name, Namespace: tr.Namespace, UID: tr.UID, Attempt: t.Attempt},
		Step:      stepDefinition(step, m),
		StepState: maskState(withResults(t.StepState, step), m),
		Reason:    t.Reason,
		Continued: t.Continued(),
	}
	if t.PodName != "" {
		data.PodRef = &corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: tr.Namespace, Name: t.PodName}
	}
	if log != nil {
		if log.Err != nil {
			data.LogError = log.Err.Error()
		} else {
			text, truncated := m.Log(log.Text, log.Truncated)
			data.Log = &text
			data.LogTruncated = truncated
		}
	}
	if err := e.SetData(cloudevents.ApplicationJSON, data); err != nil {
		return fmt.Errorf("encoding event data: %w", err)
	}
	return nil
}

// stepDefinition is the step's definition from the resolved spec Tekton
// stored in the status (FindStep), redacted and masked.
func stepDefinition(step *pipelinev1.Step, m *masking.Masker) *pipelinev1.Step {
	if step == nil {
		return nil
	}
	return maskStep(Redact(step), m)
}

// FindStep finds a step of the resolved spec by its name in the TaskRun's
// status (unnamed steps are "unnamed-<index>"); nil if there is none.
func FindStep(spec *pipelinev1.TaskSpec, name string) *pipelinev1.Step {
	if spec == nil {
		return nil
	}
	for i := range spec.Steps {
		n := spec.Steps[i].Name
		if n == "" {
			n = "unnamed-" + strconv.Itoa(i)
		}
		if n == name {
			return &spec.Steps[i]
		}
	}
	return nil
}
