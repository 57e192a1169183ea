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

// Package leanwatch lists and watches TaskRuns decoding only what the
// adapter's transitions and events use. A TaskRun as the apiserver serves
// it is mostly managedFields, spec, messages, provenance and other
// annotations; a standard typed informer scans its JSON three times (the watch
// framing, the envelope, then the object) and allocates all of it, and the
// adapter then throws most of it away. This package reads each watch event
// in one pass with encoding/json/v2's decoder (github.com/go-json-experiment/json,
// the standard library's own since Go 1.27), skips what is not used without
// allocating it, and shares the decoded status.taskSpec between the
// versions of a running TaskRun and between TaskRuns with the same spec.
// What it returns is a real *pipelinev1.TaskRun holding the used fields,
// so everything downstream works on Tekton's types.
package leanwatch

import (
	"crypto/sha256"
	"fmt"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/lru"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// specCacheSize bounds the decoded task specs kept for reuse: enough for
// the specs of the TaskRuns running at once on a busy cluster; beyond it
// a spec is decoded again, as a standard informer always does.
const specCacheSize = 1024

// Decoder decodes TaskRuns into the fields the adapter uses. It is safe for
// concurrent use.
type Decoder struct {
	opts json.Options
	// specs are decoded task specs by the SHA-256 of their JSON. The
	// decoded specs are shared: nobody may modify them (the adapter copies
	// a step before redacting it).
	specs *lru.Cache
	// final reports whether a TaskRun has ended (its spec is not cached:
	// it is seldom seen again, and usually dropped by the caller).
	final func(*pipelinev1.TaskRun) bool
}

// NewDecoder returns a Decoder keeping, of a TaskRun's annotations, only
// the one named annotation (the source's checkpoint). final tells which
// TaskRuns have ended.
func NewDecoder(annotation string, final func(*pipelinev1.TaskRun) bool) *Decoder {
	keepAnnotations := json.UnmarshalFromFunc(func(dec *jsontext.Decoder, a *annotations) error {
		return a.decode(dec, annotation)
	})
	return &Decoder{
		opts: json.JoinOptions(
			json.WithUnmarshalers(keepAnnotations),
			// The apiserver writes valid JSON with unique names: checking
			// either again costs time and protects nothing.
			jsontext.AllowDuplicateNames(true),
			jsontext.AllowInvalidUTF8(true),
		),
		specs: lru.New(specCacheSize),
		final: final,
	}
}

// taskRun is the projection of a TaskRun that is decoded.
type taskRun struct {
	Metadata objectMeta `json:"metadata"`
	Spec     spec       `json:"spec"`
	Status   status     `json:"status"`
}

// spec is the part of a TaskRun's spec that is read: the workspaces bound
// to Secrets, whose values are masked in the events of a TaskRun whose pod
// is gone (masking.StepSecretNames).
type spec struct {
	Workspaces []workspaceBinding `json:"workspaces"`
}

type workspaceBinding struct {
	Name      string                        `json:"name"`
	Secret    *corev1.SecretVolumeSource    `json:"secret"`
	Projected *corev1.ProjectedVolumeSource `json:"projected"`
}

type objectMeta struct {
	Name              string            `json:"name"`
	Namespace         string            `json:"namespace"`
	UID               types.UID         `json:"uid"`
	ResourceVersion   string            `json:"resourceVersion"`
	CreationTimestamp metav1.Time       `json:"creationTimestamp"`
	DeletionTimestamp *metav1.Time      `json:"deletionTimestamp"`
	Labels            map[string]string `json:"labels"`
	Annotations       annotations       `json:"annotations"`
	Finalizers        []string          `json:"finalizers"`
	// OwnerReferences: only the controller's is kept (a PipelineRun's
	// TaskRuns name it in their events).
	OwnerReferences []metav1.OwnerReference `json:"ownerReferences"`
}

// status is the part of a TaskRun's status that transitions and events
// read: an attempt's, its retries' and its task spec.
type status struct {
	attempt       `json:",inline"`
	RetriesStatus []attempt      `json:"retriesStatus"`
	TaskSpec      jsontext.Value `json:"taskSpec"`
}

// attempt is the part of one attempt's status that is read (a retry's
// task spec is the TaskRun's, set from status.taskSpec).
type attempt struct {
	Conditions     []condition  `json:"conditions"`
	PodName        string       `json:"podName"`
	StartTime      *metav1.Time `json:"startTime"`
	CompletionTime *metav1.Time `json:"completionTime"`
	Steps          []stepState  `json:"steps"`
}

// condition is a condition without its message, which nothing sends.
type condition struct {
	Type               apis.ConditionType     `json:"type"`
	Status             corev1.ConditionStatus `json:"status"`
	Reason             string                 `json:"reason"`
	LastTransitionTime apis.VolatileTime      `json:"lastTransitionTime"`
}

// stepState is a step's state without its provenance and artifacts. Its
// results stay: its terminal event carries them (bounded by Tekton's
// termination message, 4 KiB a pod).
type stepState struct {
	corev1.ContainerState `json:",inline"`
	Name                  string                         `json:"name"`
	Container             string                         `json:"container"`
	ImageID               string                         `json:"imageID"`
	Results               []pipelinev1.TaskRunStepResult `json:"results"`
	TerminationReason     string                         `json:"terminationReason"`
}

// annotations holds the one kept annotation and, on a bookmark, the
// apiserver's end-of-initial-events marker.
type annotations map[string]string

func (a *annotations) decode(dec *jsontext.Decoder, keep string) error {
	if dec.PeekKind() == 'n' {
		_, err := dec.ReadToken()
		return err
	}
	if _, err := dec.ReadToken(); err != nil { // '{'
		return err
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return err
		}
		if n := name.String(); n == keep || n == metav1.InitialEventsAnnotationKey {
			value, err := dec.ReadToken()
			if err != nil {
				return err
			}
			if value.Kind() != '"' {
				return fmt.Errorf("annotation %s: want a string, got %v", n, value.Kind())
			}
			if *a == nil {
				*a = annotations{}
			}
			(*a)[n] = value.String()
			continue
		}
		if err := dec.SkipValue(); err != nil {
			return err
		}
	}
	_, err := dec.ReadToken() // '}'
	return err
}

// DecodeFrom decodes the TaskRun that is the next value of dec.
func (d *Decoder) DecodeFrom(dec *jsontext.Decoder) (*pipelinev1.TaskRun, error) {
	var w taskRun
	if err := json.UnmarshalDecode(dec, &w, d.opts); err != nil {
		return nil, err
	}
	return d.taskRun(&w)
}

func (d *Decoder) taskRun(w *taskRun) (*pipelinev1.TaskRun, error) {
	m := &w.Metadata
	tr := &pipelinev1.TaskRun{
		ObjectMeta: metav1.ObjectMeta{
			Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
			CreationTimestamp: m.CreationTimestamp, DeletionTimestamp: m.DeletionTimestamp,
			Labels: m.Labels, Annotations: m.Annotations, Finalizers: m.Finalizers,
		},
		Status: w.Status.attempt.status(),
	}
	for _, ref := range m.OwnerReferences {
		if ref.Controller != nil && *ref.Controller {
			tr.OwnerReferences = []metav1.OwnerReference{ref}
			break
		}
	}
	for _, b := range w.Spec.Workspaces {
		if b.Secret != nil || b.Projected != nil {
			tr.Spec.Workspaces = append(tr.Spec.Workspaces, pipelinev1.WorkspaceBinding{Name: b.Name, Secret: b.Secret, Projected: b.Projected})
		}
	}
	for i := range w.Status.RetriesStatus {
		tr.Status.RetriesStatus = append(tr.Status.RetriesStatus, w.Status.RetriesStatus[i].status())
	}
	spec, err := d.taskSpec(w.Status.TaskSpec, d.final(tr))
	if err != nil {
		return nil, err
	}
	tr.Status.TaskSpec = spec
	for i := range tr.Status.RetriesStatus {
		// Tekton archives an attempt with the status' task spec, resolved
		// once per TaskRun: the same spec, shared rather than decoded again
		// (which steps have `when` expressions decides their events).
		tr.Status.RetriesStatus[i].TaskSpec = spec
	}
	return tr, nil
}

// taskSpec decodes a status.taskSpec, or reuses the spec decoded from the
// same JSON. Tekton sets it once per TaskRun, and the TaskRuns of one Task
// with the same params have the same one.
func (d *Decoder) taskSpec(raw jsontext.Value, final bool) (*pipelinev1.TaskSpec, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	sum := sha256.Sum256(raw)
	if spec, ok := d.specs.Get(sum); ok {
		return spec.(*pipelinev1.TaskSpec), nil
	}
	spec := &pipelinev1.TaskSpec{}
	if err := json.Unmarshal(raw, spec, d.opts); err != nil {
		return nil, err
	}
	if !final {
		d.specs.Add(sum, spec)
	}
	return spec, nil
}

// status is the attempt's part of a Tekton TaskRunStatus.
func (at *attempt) status() pipelinev1.TaskRunStatus {
	return pipelinev1.TaskRunStatus{
		Status: duckv1.Status{Conditions: succeededCondition(at.Conditions)},
		TaskRunStatusFields: pipelinev1.TaskRunStatusFields{
			PodName: at.PodName, StartTime: at.StartTime, CompletionTime: at.CompletionTime, Steps: steps(at.Steps),
		},
	}
}

// succeededCondition keeps the Succeeded condition: whether the pod runs,
// whether the attempt is done and why.
func succeededCondition(cs []condition) duckv1.Conditions {
	for _, c := range cs {
		if c.Type == apis.ConditionSucceeded {
			return duckv1.Conditions{{Type: c.Type, Status: c.Status, Reason: c.Reason, LastTransitionTime: c.LastTransitionTime}}
		}
	}
	return nil
}

func steps(ws []stepState) []pipelinev1.StepState {
	if ws == nil {
		return nil
	}
	out := make([]pipelinev1.StepState, len(ws))
	for i, s := range ws {
		out[i] = pipelinev1.StepState{
			ContainerState: s.ContainerState, Name: s.Name, Container: s.Container, ImageID: s.ImageID,
			Results: s.Results, TerminationReason: s.TerminationReason,
		}
	}
	return out
}
