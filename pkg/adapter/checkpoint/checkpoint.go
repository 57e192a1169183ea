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

// Package checkpoint records, durably and per source, which step transitions
// of a TaskRun the sink has acknowledged. The record is an annotation on the
// TaskRun keyed by the source's UID, so several sources can watch one
// TaskRun, a restarted adapter resumes where it stopped, and the record goes
// away with the TaskRun. It is written with a JSON merge patch that names
// only that annotation, so it never overwrites Tekton's own writes. The
// record names the TaskRun's UID: annotations travel (a TaskRun copied with
// `kubectl get -o yaml | kubectl create`, the Dashboard's rerun, Tekton
// copying a PipelineRun's or Task's annotations to its TaskRuns), and a
// record made for another TaskRun must never count for this one.
package checkpoint

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
)

// AnnotationPrefix starts the checkpoint annotation's key; the source UID follows.
const AnnotationPrefix = "tektonstepsource.sources.knative.dev/"

// Key is the annotation key for the source with the given UID.
func Key(sourceUID string) string { return AnnotationPrefix + sourceUID }

// Progress is how far a source got with one TaskRun: every transition of
// attempts before Attempt was delivered, and for Attempt, how far each step got.
type Progress struct {
	Attempt int `json:"a"`
	// Steps maps a step name to the last delivered transition level.
	Steps map[string]level `json:"s,omitempty"`
}

type level int

const (
	none level = iota
	started
	finished
)

func (l level) String() string {
	switch l {
	case none:
		return "not started"
	case started:
		return "started"
	case finished:
		return "finished"
	}
	return fmt.Sprintf("at level %d", int(l))
}

func levelOf(k transitions.Kind) level {
	if k == transitions.Started {
		return started
	}
	return finished
}

// Done reports whether the transition was already delivered.
func (p *Progress) Done(t transitions.Transition) bool {
	switch {
	case t.Attempt < p.Attempt:
		return true
	case t.Attempt > p.Attempt:
		return false
	}
	return p.Steps[t.StepState.Name] >= levelOf(t.Kind)
}

// Record marks the transition delivered. Transitions are delivered in order,
// so reaching a later attempt means the earlier ones are complete.
func (p *Progress) Record(t transitions.Transition) {
	if t.Attempt < p.Attempt {
		return
	}
	if t.Attempt > p.Attempt {
		p.Attempt = t.Attempt
		p.Steps = nil
	}
	if p.Steps == nil {
		p.Steps = map[string]level{}
	}
	if l := levelOf(t.Kind); l > p.Steps[t.StepState.Name] {
		p.Steps[t.StepState.Name] = l
	}
}

// Covers reports whether p has delivered at least everything o has.
func (p *Progress) Covers(o *Progress) bool {
	if p.Attempt != o.Attempt {
		return p.Attempt > o.Attempt
	}
	for step, l := range o.Steps {
		if p.Steps[step] < l {
			return false
		}
	}
	return true
}

// Clone returns a deep copy.
func (p *Progress) Clone() *Progress {
	c := &Progress{Attempt: p.Attempt}
	if p.Steps != nil {
		c.Steps = make(map[string]level, len(p.Steps))
		for k, v := range p.Steps {
			c.Steps[k] = v
		}
	}
	return c
}

// annotationJSON is the annotation's value: the progress and the UID of the
// TaskRun it was recorded for, {"u":"<uid>","a":0,"s":{"build":2}}.
type annotationJSON struct {
	TaskRun types.UID `json:"u"`
	*Progress
}

// Annotation renders the progress recorded for the TaskRun with the given
// UID as the annotation's value.
func Annotation(uid types.UID, p *Progress) (string, error) {
	b, err := json.Marshal(annotationJSON{TaskRun: uid, Progress: p})
	return string(b), err
}

// FromTaskRun reads the source's checkpoint from the TaskRun; a missing or
// unreadable annotation means nothing was delivered yet. So does one
// recorded for another TaskRun: it was copied, and trusting it would
// silence this TaskRun's events once its status caught up with the copy.
// A record that names no TaskRun was written before records named theirs
// (legacyBefore: since when the source's adapters name them, see
// Journal.RecordsNameTaskRunsSince): it is trusted on a TaskRun created
// before then, which only such an adapter can have recorded, and ignored
// on any later one, where it can only be a copy.
func FromTaskRun(tr *pipelinev1.TaskRun, sourceUID string, legacyBefore time.Time) (*Progress, error) {
	raw, ok := tr.Annotations[Key(sourceUID)]
	if !ok {
		return &Progress{}, nil
	}
	v := annotationJSON{Progress: &Progress{}}
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return &Progress{}, fmt.Errorf("checkpoint annotation %s of TaskRun %s/%s is not valid: %w", Key(sourceUID), tr.Namespace, tr.Name, err)
	}
	legacy := v.TaskRun == "" && tr.CreationTimestamp.Time.Before(legacyBefore)
	if v.TaskRun != tr.UID && !legacy {
		recordedFor := "no TaskRun, on a TaskRun created since the source's adapters name them"
		if v.TaskRun != "" {
			recordedFor = "TaskRun uid " + string(v.TaskRun)
		}
		return &Progress{}, fmt.Errorf("checkpoint annotation %s of TaskRun %s/%s ignored: it was recorded for %s and came with copied annotations",
			Key(sourceUID), tr.Namespace, tr.Name, recordedFor)
	}
	p := v.Progress
	if why := p.Beyond(tr); why != "" {
		// Anyone who may patch the TaskRun can write the annotation; a
		// record of more than happened would silence the rest of the run.
		return &Progress{}, fmt.Errorf("checkpoint annotation %s of TaskRun %s/%s ignored: %s", Key(sourceUID), tr.Namespace, tr.Name, why)
	}
	return p, nil
}

// Beyond says how the progress claims more than the TaskRun's status can
// have ("" if it does not): an attempt that has not begun, or, in the
// current attempt, a step further than its state shows (a step that does
// not exist, or that has not started or finished). Progress is only ever
// recorded for transitions computed from the TaskRun's status, and a
// TaskRun's status only moves forward, so a true record is never beyond.
func (p *Progress) Beyond(tr *pipelinev1.TaskRun) string {
	attempt := len(tr.Status.RetriesStatus)
	switch {
	case transitions.Final(tr) && len(tr.Status.Steps) == 0 && attempt == 0:
		// A final TaskRun without steps has nothing left to send, so
		// nothing to silence. It is also how the adapter's cache keeps a
		// settled TaskRun, whose checkpoint was checked before its status
		// was trimmed.
		return ""
	case p.Attempt < 0:
		return fmt.Sprintf("attempt %d", p.Attempt)
	case p.Attempt > attempt:
		return fmt.Sprintf("it records attempt %d, the TaskRun is at attempt %d", p.Attempt, attempt)
	case p.Attempt < attempt || len(p.Steps) == 0:
		return ""
	}
	reached := map[string]level{}
	for _, t := range transitions.ForTaskRun(tr, time.Time{}) {
		if l := levelOf(t.Kind); t.Attempt == attempt && l > reached[t.StepState.Name] {
			reached[t.StepState.Name] = l
		}
	}
	for _, step := range slices.Sorted(maps.Keys(p.Steps)) {
		if l := p.Steps[step]; l > reached[step] || l < none {
			return fmt.Sprintf("step %q %s, its state shows it %s", step, l, reached[step])
		}
	}
	return ""
}

// Store writes checkpoints to TaskRuns. It patches through the metadata
// client, so the apiserver answers with the TaskRun's metadata only rather
// than the whole object: the adapter writes often (see Options.CheckpointInterval).
type Store struct {
	Client    metadata.Interface
	SourceUID string
}

// Save writes the progress to the TaskRun's annotation. The patch carries
// the TaskRun's UID as a precondition so a recreated TaskRun with the same
// name never inherits a stale record.
func (s *Store) Save(ctx context.Context, namespace, name string, uid types.UID, p *Progress) error {
	value, err := Annotation(uid, p)
	if err != nil {
		return err
	}
	patch, err := json.Marshal(map[string]interface{}{
		"metadata": map[string]interface{}{
			"uid":         uid,
			"annotations": map[string]string{Key(s.SourceUID): value},
		},
	})
	if err != nil {
		return err
	}
	_, err = s.Client.Resource(adaptercontract.TaskRuns).Namespace(namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

// String renders the progress for logs.
func (p *Progress) String() string {
	return "attempt " + strconv.Itoa(p.Attempt) + fmt.Sprintf(" %v", p.Steps)
}
