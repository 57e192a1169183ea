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

package compose

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/masking"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
)

// TestMaskerCacheForgets: a shared masker lives as long as something holds
// it; once nothing does, its entry goes and the next get builds anew.
func TestMaskerCacheForgets(t *testing.T) {
	var c maskerCache
	builds := 0
	build := func() *masking.Masker {
		builds++
		return masking.New(masking.Patterns{}, [][]byte{[]byte("s3cret-value")})
	}
	held := c.get("ns/creds@7", build)
	if c.get("ns/creds@7", build) != held || builds != 1 {
		t.Fatalf("%d builds for one key while its masker is held, want 1", builds)
	}
	runtime.KeepAlive(held)
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		c.mu.Lock()
		entries := len(c.by)
		c.mu.Unlock()
		if entries == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d entries left after their masker went", entries)
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.get("ns/creds@7", build)
	if builds != 2 {
		t.Errorf("%d builds, want a new one once the first masker went", builds)
	}
}

// TestGrantWaits: the events of a pod whose read is forbidden (the
// controller has not granted it yet) wait, up to grantWait from the pod's
// first refusal; any other error, or a refusal past that, does not; each
// pod has its own deadline.
func TestGrantWaits(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	forbidden := fmt.Errorf("reading Secret %q: %w", "token",
		apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "token", errors.New("not granted")))
	var g grantWaits
	steps := []struct {
		name     string
		err      error
		pod      string
		now      time.Time
		wantWait bool
	}{
		{name: "read", err: nil, pod: "ci/a", now: t0},
		{name: "not found", err: apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, "token"), pod: "ci/a", now: t0},
		{name: "first refusal", err: forbidden, pod: "ci/a", now: t0, wantWait: true},
		{name: "refused within the wait", err: forbidden, pod: "ci/a", now: t0.Add(grantWait - time.Second), wantWait: true},
		{name: "another pod's first refusal", err: forbidden, pod: "ci/b", now: t0.Add(grantWait - time.Second), wantWait: true},
		{name: "refused past the wait", err: forbidden, pod: "ci/a", now: t0.Add(grantWait)},
		{name: "the pod's next event, refused", err: forbidden, pod: "ci/a", now: t0.Add(grantWait + time.Second)},
		{name: "the other pod still waits", err: forbidden, pod: "ci/b", now: t0.Add(grantWait + time.Second), wantWait: true},
	}
	for _, step := range steps {
		wait, ok := g.await(step.err, step.pod, step.now)
		if ok != step.wantWait || (ok && wait <= 0) {
			t.Errorf("%s: await = %v, %v; want waiting %v", step.name, wait, ok, step.wantWait)
		}
	}
}

// TestWithoutResults: what a step can write a Secret's value into besides
// its log is held back with it.
func TestWithoutResults(t *testing.T) {
	term := &corev1.ContainerStateTerminated{ExitCode: 0, Message: `[{"key":"token","value":"s3cr3t","type":1}]`}
	tr := transitions.Transition{StepState: pipelinev1.StepState{Name: "a", ContainerState: corev1.ContainerState{Terminated: term},
		Results: []pipelinev1.TaskRunStepResult{{Name: "token", Value: *pipelinev1.NewStructuredValues("s3cr3t")}}}}
	got := WithoutResults(tr)
	if got.StepState.Results != nil || got.StepState.Terminated.Message != "" || got.StepState.Terminated.ExitCode != 0 {
		t.Errorf("WithoutResults kept %+v", got.StepState)
	}
	if term.Message == "" || tr.StepState.Results == nil {
		t.Error("WithoutResults changed the TaskRun's own state")
	}
}
