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
	"fmt"
	"strings"
	"testing"
	"time"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// threeSteps is a TaskRun whose second step runs long enough to be cut
// short; extra is more YAML under the second step.
func threeSteps(name, extra string) string {
	return `
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: ` + name + `
spec:
  taskSpec:
    steps:
    - {name: first, image: "{{.Image}}", script: "echo ran"}
    - name: second
      image: "{{.Image}}"
` + extra + `
    - {name: third, image: "{{.Image}}", script: "echo never"}
`
}

// TestStepOOMKilled: a step killed for memory (cgroup OOM, exit 137)
// fails with reason OOMKilled and its exit code; the later step is
// skipped; Tekton fails the TaskRun StepOOM.
func TestStepOOMKilled(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newSource(t, ns, "steps", "")
	apply(t, ns, threeSteps("oom", `      computeResources: {limits: {memory: 32Mi}}
      script: 'echo filling; x="$(head -c 200000000 /dev/zero | tr "\0" a)"; echo survived'`))
	tr := waitTaskRun(t, ns, "oom")
	if r := tr.Status.GetCondition("Succeeded").Reason; r != "StepOOM" {
		t.Fatalf("TaskRun reason %s, want StepOOM", r)
	}
	got := eventsOf(t, ns, "oom", 5)
	assertEvents(t, tr, got, []want{
		{transition: "started", step: "first"},
		{transition: "succeeded", step: "first", log: "ran\n"},
		{transition: "started", step: "second"},
		{transition: "failed", step: "second", reason: "OOMKilled", log: "filling\n"},
		{transition: "skipped", step: "third"},
	})
	if term := eventData(got[3]).StepState.Terminated; term == nil || term.ExitCode != 137 {
		t.Errorf("the failed event's stepState.terminated = %+v, want exit code 137", term)
	}
}

// TestPodGoneMidRun: the pod of a running TaskRun deleted, or evicted
// through the Eviction API, while its second step runs. Tekton fails the
// TaskRun; the step that was executing fails, the one after it is
// skipped, and every step has exactly its events.
func TestPodGoneMidRun(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newSource(t, ns, "steps", "")
	tests := []struct {
		name   string
		remove func(ctx context.Context, pod string) error
	}{{
		name: "deleted",
		remove: func(ctx context.Context, pod string) error {
			return kube.CoreV1().Pods(ns).Delete(ctx, pod, metav1.DeleteOptions{})
		},
	}, {
		name: "evicted",
		remove: func(ctx context.Context, pod string) error {
			return kube.CoreV1().Pods(ns).EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: ns}})
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			apply(t, ns, threeSteps(tc.name, `      script: "echo waiting; sleep 600"`))
			eventsOf(t, ns, tc.name, 3) // the second step runs
			tr, err := tekton.TektonV1().TaskRuns(ns).Get(ctxFor(t, time.Minute), tc.name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.remove(ctxFor(t, time.Minute), tr.Status.PodName); err != nil {
				t.Fatalf("removing the pod: %v", err)
			}
			tr = waitTaskRun(t, ns, tc.name)
			t.Logf("Tekton's verdict: %+v; steps %+v", tr.Status.GetCondition("Succeeded"), tr.Status.Steps)
			if tr.Status.GetCondition("Succeeded").IsTrue() {
				t.Fatal("the TaskRun succeeded without its pod")
			}
			assertEvents(t, tr, eventsOf(t, ns, tc.name, 5), []want{
				{transition: "started", step: "first"},
				{transition: "succeeded", step: "first", log: "ran\n"},
				{transition: "started", step: "second"},
				{transition: "failed", step: "second", log: "?"}, // read while the pod goes
				{transition: "skipped", step: "third"},
			})
		})
	}
}

// TestPodEvictedForStorage: the kubelet evicts a pod whose step writes
// past its ephemeral-storage limit. Tekton fails the TaskRun PodEvicted;
// the step that was executing fails, the one after it is skipped. The
// limit counts the pod's emptyDirs too, and Tekton's own (the entrypoint
// binary, about 46 MB) would exceed a small one at the kubelet's first
// measurement, at any moment of the run: the limit is well above them and
// the step writes twice it after a few seconds, so the eviction follows
// the write and the first step's log (which an eviction removes with the
// containers) has been read by then.
func TestPodEvictedForStorage(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newSource(t, ns, "steps", "")
	apply(t, ns, threeSteps("evicted", `      computeResources: {limits: {ephemeral-storage: 100Mi}}
      script: "echo filling; sleep 5; head -c 220000000 /dev/zero > /tmp/fill; sleep 600"`))
	tr := waitTaskRun(t, ns, "evicted")
	if r := tr.Status.GetCondition("Succeeded").Reason; r != "PodEvicted" {
		t.Fatalf("TaskRun reason %s, want PodEvicted", r)
	}
	assertEvents(t, tr, eventsOf(t, ns, "evicted", 5), []want{
		{transition: "started", step: "first"},
		{transition: "succeeded", step: "first", log: "ran\n"},
		{transition: "started", step: "second"},
		{transition: "failed", step: "second", log: "?"}, // an evicted pod's containers may be gone
		{transition: "skipped", step: "third"},
	})
}

// TestStepActionRef: a step that refers to a StepAction (`ref:`) is a
// step like any other: Tekton resolves it into status.taskSpec, and its
// events carry the resolved definition (image, script) under its name.
func TestStepActionRef(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newSource(t, ns, "steps", "")
	apply(t, ns, `
apiVersion: tekton.dev/v1beta1
kind: StepAction
metadata:
  name: greet
spec:
  params: [{name: who, default: world}]
  image: "{{.Image}}"
  script: 'echo "hello $(params.who)"'
---
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: action
spec:
  taskSpec:
    steps:
    - name: hello
      ref: {name: greet}
      params: [{name: who, value: tekton}]
    - {name: after, image: "{{.Image}}", script: "echo done"}
`)
	tr := waitTaskRun(t, ns, "action")
	got := eventsOf(t, ns, "action", 4)
	assertEvents(t, tr, got, []want{
		{transition: "started", step: "hello"},
		{transition: "succeeded", step: "hello", reason: "Completed", log: "hello tekton\n"},
		{transition: "started", step: "after"},
		{transition: "succeeded", step: "after", reason: "Completed", log: "done\n"},
	})
	step := eventData(got[1]).Step
	if step["image"] != stepImage || step["script"] != `echo "hello tekton"` {
		t.Errorf("the event's step %v, want the StepAction's image and script with the param substituted", step)
	}
}

// TestManyTaskRunsAtOnce: TaskRuns of short steps started together, so
// Tekton's second-resolution timestamps collide (a step can show a start
// and end before the previous step's end). Every TaskRun's events keep
// the time rules: no step ends before it started or starts before the
// previous one ended (the contract checker at the end of the test checks
// them over every event; here each TaskRun's sequence too).
func TestManyTaskRunsAtOnce(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newSource(t, ns, "steps", "")
	const runs = 10
	var yaml strings.Builder
	for i := range runs {
		fmt.Fprintf(&yaml, `---
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: burst-%d
spec:
  taskSpec:
    steps:
    - {name: a, image: "{{.Image}}", script: "echo a"}
    - {name: b, image: "{{.Image}}", script: "echo b"}
    - {name: c, image: "{{.Image}}", script: "echo c"}
`, i)
	}
	apply(t, ns, yaml.String())
	for i := range runs {
		name := fmt.Sprintf("burst-%d", i)
		tr := waitTaskRun(t, ns, name)
		assertEvents(t, tr, eventsOf(t, ns, name, 6), []want{
			{transition: "started", step: "a"},
			{transition: "succeeded", step: "a", log: "a\n"},
			{transition: "started", step: "b"},
			{transition: "succeeded", step: "b", log: "b\n"},
			{transition: "started", step: "c"},
			{transition: "succeeded", step: "c", log: "c\n"},
		})
	}
}
