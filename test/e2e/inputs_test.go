//go:build e2e

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

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"knative.dev/pkg/apis"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// TestRerunKeepsEveryEvent: a TaskRun re-run the way the Tekton
// Dashboard's "Rerun" and `kubectl get -o yaml | kubectl create` do, with
// every annotation kept but Tekton's own, carries the source's checkpoint
// of the original; on real Tekton, the rerun still gets every one of its
// events, its failure included.
func TestRerunKeepsEveryEvent(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	src := newSource(t, ns, "steps", "")
	const task = `
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: %s
spec:
  taskSpec:
    steps:
    - {name: build, image: "{{.Image}}", script: "echo built"}
    - {name: deploy, image: "{{.Image}}", script: "echo no cluster; exit 1"}
`
	apply(t, ns, strings.ReplaceAll(task, "%s", "rr-1"))
	first := waitTaskRun(t, ns, "rr-1")
	wantEvents := []want{
		{transition: "started", step: "build"},
		{transition: "succeeded", step: "build", log: "built\n"},
		{transition: "started", step: "deploy"},
		{transition: "failed", step: "deploy", reason: "Error", log: "no cluster\n"},
	}
	assertEvents(t, first, eventsOf(t, ns, "rr-1", 4), wantEvents)

	// The original's checkpoint, once its events are recorded.
	key := "tektonstepsource.sources.knative.dev/" + string(src.UID)
	var annotations map[string]string
	err := wait.PollUntilContextTimeout(ctxFor(t, time.Minute), 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		tr, err := tekton.TektonV1().TaskRuns(ns).Get(ctx, "rr-1", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		annotations = tr.Annotations
		return strings.Contains(tr.Annotations[key], `"deploy":2`), nil
	})
	if err != nil {
		t.Fatalf("the original's checkpoint never recorded its failure: %v", annotations)
	}
	rerun := &pipelinev1.TaskRun{ObjectMeta: metav1.ObjectMeta{Name: "rr-2", Namespace: ns, Annotations: map[string]string{}}, Spec: first.Spec}
	for k, v := range annotations {
		if !strings.HasPrefix(k, "tekton.dev/") {
			rerun.Annotations[k] = v
		}
	}
	if _, err := tekton.TektonV1().TaskRuns(ns).Create(ctxFor(t, time.Minute), rerun, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	assertEvents(t, waitTaskRun(t, ns, "rr-2"), eventsOf(t, ns, "rr-2", 4), wantEvents)
}

// TestFilterThatIsNoCondition: a CESQL filter that is no boolean
// expression (Knative's Trigger filter panics on it at the first event) is
// refused in the source's status with the field, the value and what is
// accepted, before an adapter could run it; fixed, the source becomes
// Ready.
func TestFilterThatIsNoCondition(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	apply(t, ns, `
apiVersion: sources.knative.dev/v1alpha1
kind: TektonStepSource
metadata:
  name: unfiltered
spec:
  sink:
    uri: `+sinkURI+`
  filters:
  - cesql: "tektonstep"
`)
	var src *v1alpha1.TektonStepSource
	err := wait.PollUntilContextTimeout(ctxFor(t, 2*time.Minute), 500*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		var err error
		src, err = sources.SourcesV1alpha1().TektonStepSources(ns).Get(ctx, "unfiltered", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		c := src.Status.GetCondition(apis.ConditionReady)
		return c != nil && c.IsFalse() && src.Status.ObservedGeneration == src.Generation, nil
	})
	if err != nil {
		t.Fatalf("the source was not refused: %v (%+v)", err, src.Status)
	}
	msg := src.Status.GetCondition(apis.ConditionReady).Message
	for _, part := range []string{"filters[0].cesql", "tektonstep", "boolean"} {
		if !strings.Contains(strings.ToLower(msg), part) {
			t.Errorf("the refusal %q does not name %q", msg, part)
		}
	}
	if deployments := adapterDeployments(t, src); len(deployments) != 0 {
		t.Errorf("an adapter was deployed for the refused spec: %v", deployments)
	}
	apply(t, ns, `
apiVersion: sources.knative.dev/v1alpha1
kind: TektonStepSource
metadata:
  name: unfiltered
spec:
  sink:
    uri: `+sinkURI+`
  filters:
  - cesql: "tektonstep = 'build'"
`)
	waitSourceReady(t, ns, "unfiltered")
}
