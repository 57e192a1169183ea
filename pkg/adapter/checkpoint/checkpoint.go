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
// only that annotation, so it never overwrites Tekton's own writes.
package checkpoint

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

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

// FromTaskRun reads the source's checkpoint from the TaskRun; a missing or
// unreadable annotation means nothing was delivered yet.
func FromTaskRun(tr *pipelinev1.TaskRun, sourceUID string) (*Progress, error) {
	raw, ok := tr.Annotations[Key(sourceUID)]
	if !ok {
		return &Progress{}, nil
	}
	p := &Progress{}
	if err := json.Unmarshal([]byte(raw), p); err != nil {
		return &Progress{}, fmt.Errorf("checkpoint annotation %s of TaskRun %s/%s is not valid: %w", Key(sourceUID), tr.Namespace, tr.Name, err)
	}
	return p, nil
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
	value, err := json.Marshal(p)
	if err != nil {
		return err
	}
	patch, err := json.Marshal(map[string]interface{}{
		"metadata": map[string]interface{}{
			"uid":         uid,
			"annotations": map[string]string{Key(s.SourceUID): string(value)},
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
