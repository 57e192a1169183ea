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

package checkpoint

import (
	"testing"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
)

func tr(attempt int, step string, kind transitions.Kind) transitions.Transition {
	return transitions.Transition{Attempt: attempt, StepState: pipelinev1.StepState{Name: step}, Kind: kind}
}

func TestProgress(t *testing.T) {
	p := &Progress{}
	steps := []transitions.Transition{
		tr(0, "a", transitions.Started), tr(0, "a", transitions.Failed), tr(0, "b", transitions.Skipped),
		tr(1, "a", transitions.Started), tr(1, "a", transitions.Succeeded),
	}
	for i, s := range steps {
		for j, later := range steps[i:] {
			if p.Done(later) {
				t.Fatalf("before recording %d, transition %d is already done", i, i+j)
			}
		}
		before := p.Clone()
		p.Record(s)
		if !p.Done(s) {
			t.Fatalf("transition %d not done after Record", i)
		}
		for j := 0; j <= i; j++ {
			if !p.Done(steps[j]) {
				t.Errorf("after %d, earlier transition %d is not done", i, j)
			}
		}
		if !p.Covers(before) || before.Covers(p) {
			t.Errorf("after %d: Covers is not strictly increasing (%v vs %v)", i, p, before)
		}
	}
	// Recording an old transition again changes nothing.
	snapshot := p.Clone()
	p.Record(steps[0])
	if !p.Covers(snapshot) || !snapshot.Covers(p) {
		t.Errorf("re-recording an old transition changed progress: %v -> %v", snapshot, p)
	}
}

func TestFromTaskRun(t *testing.T) {
	run := &pipelinev1.TaskRun{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{
		Key("src-1"): `{"a":1,"s":{"a":2,"b":1}}`,
		Key("src-2"): `not json`,
	}}}
	p, err := FromTaskRun(run, "src-1")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Done(tr(0, "z", transitions.Skipped)) || !p.Done(tr(1, "a", transitions.Failed)) ||
		!p.Done(tr(1, "b", transitions.Started)) || p.Done(tr(1, "b", transitions.Succeeded)) || p.Done(tr(2, "a", transitions.Started)) {
		t.Errorf("progress %v decoded wrongly", p)
	}
	if p, err := FromTaskRun(run, "src-2"); err == nil || p.Attempt != 0 || len(p.Steps) != 0 {
		t.Errorf("an unreadable checkpoint must yield an error and empty progress, got %v %v", p, err)
	}
	if p, err := FromTaskRun(run, "src-3"); err != nil || p.Done(tr(0, "a", transitions.Started)) {
		t.Errorf("another source's checkpoint leaked: %v %v", p, err)
	}
}
