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
	"path/filepath"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/reconciler/tektonstepsource/resources"
	"github.com/tektonstep/tekton-step-source/test/controlplane"
)

func TestThreeStepsSucceed(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newSource(t, ns, "steps", "")
	apply(t, ns, `
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: three
spec:
  taskSpec:
    steps:
    - name: checkout
      image: {{.Image}}
      script: |
        #!/bin/sh
        echo cloning
        echo checked out
    - name: compile
      image: {{.Image}}
      command: [sh, -c, "echo compiling; echo done"]
    - name: publish
      image: {{.Image}}
      command: [echo, published]
`)
	tr := waitTaskRun(t, ns, "three")
	assertEvents(t, tr, eventsOf(t, ns, "three", 6), []want{
		{transition: "started", step: "checkout"},
		{transition: "succeeded", step: "checkout", reason: "Completed", log: "cloning\nchecked out\n"},
		{transition: "started", step: "compile"},
		{transition: "succeeded", step: "compile", reason: "Completed", log: "compiling\ndone\n"},
		{transition: "started", step: "publish"},
		{transition: "succeeded", step: "publish", reason: "Completed", log: "published\n"},
	})
}

func TestFailingStepSkipsTheRest(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newSource(t, ns, "steps", "")
	apply(t, ns, `
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: fails
spec:
  taskSpec:
    steps:
    - {name: prepare, image: "{{.Image}}", script: "echo ready"}
    - {name: unit-tests, image: "{{.Image}}", script: "echo 3 tests failed >&2; exit 3"}
    - {name: package, image: "{{.Image}}", script: "echo never"}
    - {name: deploy, image: "{{.Image}}", script: "echo never"}
`)
	tr := waitTaskRun(t, ns, "fails")
	got := eventsOf(t, ns, "fails", 6)
	assertEvents(t, tr, got, []want{
		{transition: "started", step: "prepare"},
		{transition: "succeeded", step: "prepare", reason: "Completed", log: "ready\n"},
		{transition: "started", step: "unit-tests"},
		{transition: "failed", step: "unit-tests", reason: "Error", log: "3 tests failed\n"},
		{transition: "skipped", step: "package", reason: "Skipped"},
		{transition: "skipped", step: "deploy", reason: "Skipped"},
	})
	if term := eventData(got[3]).StepState.Terminated; term == nil || term.ExitCode != 3 {
		t.Errorf("stepState.terminated %+v, want exit code 3", term)
	}
}

func TestOnErrorContinue(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newSource(t, ns, "steps", "")
	apply(t, ns, `
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: lint
spec:
  taskSpec:
    steps:
    - {name: lint, image: "{{.Image}}", onError: continue, script: "echo 2 warnings; exit 1"}
    - {name: build, image: "{{.Image}}", script: "echo built"}
`)
	tr := waitTaskRun(t, ns, "lint")
	if !tr.Status.GetCondition("Succeeded").IsTrue() {
		t.Fatalf("TaskRun should succeed with onError: continue: %+v", tr.Status.Conditions)
	}
	assertEvents(t, tr, eventsOf(t, ns, "lint", 4), []want{
		{transition: "started", step: "lint"},
		{transition: "failed", step: "lint", reason: "Continued", continued: true, log: "2 warnings\n"},
		{transition: "started", step: "build"},
		{transition: "succeeded", step: "build", reason: "Completed", log: "built\n"},
	})
}

func TestStepWhenSkips(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newSource(t, ns, "steps", "")
	apply(t, ns, `
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: when
spec:
  taskSpec:
    steps:
    - {name: build, image: "{{.Image}}", script: "echo built"}
    - name: deploy
      image: "{{.Image}}"
      script: "echo deploying"
      when:
      - {input: "main", operator: in, values: ["release"]}
    - {name: notify, image: "{{.Image}}", script: "echo notified"}
`)
	tr := waitTaskRun(t, ns, "when")
	assertEvents(t, tr, eventsOf(t, ns, "when", 5), []want{
		{transition: "started", step: "build"},
		{transition: "succeeded", step: "build", reason: "Completed", log: "built\n"},
		{transition: "skipped", step: "deploy", reason: "Skipped"},
		{transition: "started", step: "notify"},
		{transition: "succeeded", step: "notify", reason: "Completed", log: "notified\n"},
	})
}

// TestTaskRunTimeout: the TaskRun's timeout ends the step that executes
// then. It is long enough for the pod to start and quick to end on a
// loaded node (a pod there has taken 14 s to start its containers; a
// shorter timeout ends quick too, rightly failed with TaskRunTimeout).
func TestTaskRunTimeout(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newSource(t, ns, "steps", "")
	apply(t, ns, `
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: slow
spec:
  timeout: 45s
  taskSpec:
    steps:
    - {name: quick, image: "{{.Image}}", script: "echo quick"}
    - {name: hang, image: "{{.Image}}", script: "echo hanging; sleep 600"}
    - {name: after, image: "{{.Image}}", script: "echo never"}
`)
	tr := waitTaskRun(t, ns, "slow")
	if r := tr.Status.GetCondition("Succeeded").Reason; r != "TaskRunTimeout" {
		t.Fatalf("TaskRun reason %s, want TaskRunTimeout", r)
	}
	assertEvents(t, tr, eventsOf(t, ns, "slow", 5), []want{
		{transition: "started", step: "quick"},
		{transition: "succeeded", step: "quick", reason: "Completed", log: "quick\n"},
		{transition: "started", step: "hang"},
		{transition: "failed", step: "hang", reason: "TaskRunTimeout", log: "hanging\n"},
		{transition: "skipped", step: "after", reason: "TaskRunTimeout"},
	})
}

func TestCancelledTaskRun(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newSource(t, ns, "steps", "")
	apply(t, ns, `
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: cancelme
spec:
  taskSpec:
    steps:
    - {name: wait, image: "{{.Image}}", script: "echo waiting; sleep 600"}
    - {name: after, image: "{{.Image}}", script: "echo never"}
`)
	// Cancel once the first step really runs: its started event can come
	// before its script does (the entrypoint waits for the pod's ready
	// annotation), and on a loaded machine the log would then be empty.
	eventsOf(t, ns, "cancelme", 1)
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(podLog(t, ns, "cancelme-pod"), "waiting") {
		if time.Now().After(deadline) {
			t.Fatal("the first step's script did not run within a minute")
		}
		time.Sleep(200 * time.Millisecond)
	}
	patch := []byte(`{"spec":{"status":"TaskRunCancelled"}}`)
	if _, err := tekton.TektonV1().TaskRuns(ns).Patch(ctxFor(t, time.Minute), "cancelme", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatalf("cancelling: %v", err)
	}
	tr := waitTaskRun(t, ns, "cancelme")
	if r := tr.Status.GetCondition("Succeeded").Reason; r != "TaskRunCancelled" {
		t.Fatalf("TaskRun reason %s, want TaskRunCancelled", r)
	}
	assertEvents(t, tr, eventsOf(t, ns, "cancelme", 3), []want{
		{transition: "started", step: "wait"},
		{transition: "failed", step: "wait", reason: "TaskRunCancelled", log: "waiting\n"},
		{transition: "skipped", step: "after", reason: "TaskRunCancelled"},
	})
}

func TestRetriesGetNewAttempts(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newSource(t, ns, "steps", "")
	apply(t, ns, `
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: flaky
spec:
  retries: 1
  taskSpec:
    steps:
    - {name: e2e, image: "{{.Image}}", script: "echo connection refused; exit 1"}
`)
	tr := waitTaskRun(t, ns, "flaky")
	if len(tr.Status.RetriesStatus) != 1 {
		t.Fatalf("want 1 retry, got %d", len(tr.Status.RetriesStatus))
	}
	got := eventsOf(t, ns, "flaky", 4)
	assertEvents(t, tr, got, []want{
		{transition: "started", step: "e2e", attempt: 0},
		{transition: "failed", step: "e2e", attempt: 0, reason: "Error", log: "connection refused\n"},
		{transition: "started", step: "e2e", attempt: 1},
		{transition: "failed", step: "e2e", attempt: 1, reason: "Error", log: "connection refused\n"},
	})
	// Each attempt reports its own container.
	first, second := eventData(got[1]).StepState.Terminated, eventData(got[3]).StepState.Terminated
	if first == nil || second == nil || first.ContainerID == second.ContainerID {
		t.Errorf("the attempts' failed events should carry different containers: %+v / %+v", first, second)
	}
}

func TestPipelineRunTwoTasks(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newSource(t, ns, "steps", "")
	apply(t, ns, `
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: compile
spec:
  steps:
  - {name: go-build, image: "{{.Image}}", script: "echo go build"}
---
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: unit
spec:
  steps:
  - {name: go-test, image: "{{.Image}}", script: "echo ok"}
  - {name: coverage, image: "{{.Image}}", script: "echo 87%"}
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: release
spec:
  tasks:
  - name: build
    taskRef: {name: compile}
  - name: test
    runAfter: [build]
    taskRef: {name: unit}
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: release-42
spec:
  pipelineRef: {name: release}
`)
	pr := waitPipelineRun(t, ns, "release-42")
	if !pr.Status.GetCondition("Succeeded").IsTrue() {
		t.Fatalf("PipelineRun failed: %+v", pr.Status.Conditions)
	}
	build := waitTaskRun(t, ns, "release-42-build")
	test := waitTaskRun(t, ns, "release-42-test")
	buildEvents := eventsOf(t, ns, build.Name, 2)
	testEvents := eventsOf(t, ns, test.Name, 4)
	assertEvents(t, build, buildEvents, []want{
		{transition: "started", step: "go-build"},
		{transition: "succeeded", step: "go-build", reason: "Completed", log: "go build\n"},
	})
	assertEvents(t, test, testEvents, []want{
		{transition: "started", step: "go-test"},
		{transition: "succeeded", step: "go-test", reason: "Completed", log: "ok\n"},
		{transition: "started", step: "coverage"},
		{transition: "succeeded", step: "coverage", reason: "Completed", log: "87%\n"},
	})
	check := func(events []cloudevents.Event, task, pipelineTask string) {
		for _, e := range events {
			for k, v := range map[string]string{"tektonpipelinerun": "release-42", "tektonpipeline": "release",
				"tektonpipelinetask": pipelineTask, "tektontask": task} {
				if ext(e, k) != v {
					t.Errorf("%s: extension %s=%q, want %q", e.ID(), k, ext(e, k), v)
				}
			}
		}
	}
	check(buildEvents, "compile", "build")
	check(testEvents, "unit", "test")
	// runAfter: every build event arrived before the first test event.
	all := waitEvents(t, 6, func(e cloudevents.Event) bool { return ext(e, "tektonnamespace") == ns })
	seenTest := false
	for _, e := range all {
		if ext(e, "tektonpipelinetask") == "test" {
			seenTest = true
		} else if seenTest {
			t.Errorf("build event %s arrived after a test event", e.ID())
		}
	}
}

func TestLogTail(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newSource(t, ns, "steps", "log:\n  maxBytes: 10")
	apply(t, ns, `
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: chatty
spec:
  taskSpec:
    steps:
    - {name: talk, image: "{{.Image}}", script: "echo 0123456789; echo abcdefghij"}
`)
	tr := waitTaskRun(t, ns, "chatty")
	got := eventsOf(t, ns, "chatty", 2)
	d := eventData(got[1])
	full := "0123456789\nabcdefghij\n"
	if d.Log == nil || *d.Log == "" || len(*d.Log) > 10 || !strings.HasSuffix(full, *d.Log) || !d.LogTruncated {
		t.Errorf("want a truncated tail of at most 10 bytes of %q, got log %v truncated %v (logError %q)", full, d.Log, d.LogTruncated, d.LogError)
	}
	assertEvents(t, tr, got[:1], []want{{transition: "started", step: "talk"}})
}

func TestSampleSource(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	// The sample as shipped: its sink is the receiver (event-display in default).
	objs, err := controlplane.ApplyFiles(ctxFor(t, time.Minute), restConfig, ns,
		filepath.Join(controlplane.RepoRoot(), "config", "samples", "uri-source.yaml"))
	if err != nil {
		t.Fatalf("applying the sample: %v", err)
	}
	src := waitSourceReady(t, ns, objs[0].GetName())
	if got := src.Status.SinkURI; got == nil || got.String() != sinkURI {
		t.Errorf("status.sinkUri %v, want %s", got, sinkURI)
	}
	apply(t, ns, `
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: other
spec:
  taskSpec:
    steps:
    - {name: hello, image: "{{.Image}}", script: "echo other"}
---
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: mine
  labels: {app: my-app}
spec:
  taskSpec:
    steps:
    - {name: hello, image: "{{.Image}}", script: "echo mine"}
`)
	waitTaskRun(t, ns, "other")
	mine := waitTaskRun(t, ns, "mine")
	got := eventsOf(t, ns, "mine", 2)
	assertEvents(t, mine, got, []want{
		{transition: "started", step: "hello"},
		{transition: "succeeded", step: "hello", reason: "Completed", log: "-"},
	})
	for _, e := range got {
		if ext(e, "cluster") != "dev" {
			t.Errorf("%s: extension cluster=%q, want dev (spec.ceOverrides)", e.ID(), ext(e, "cluster"))
		}
	}
	if others := eventsOf(t, ns, "other", 0); len(others) != 0 {
		t.Errorf("the selector app=my-app should filter out TaskRun other:\n%s", describe(others))
	}
}

func TestDeletingSourceRemovesAdapter(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	partialStream(ns) // the source goes while the TaskRun runs
	src := newSource(t, ns, "short-lived", "")
	var adapters []string
	err := wait.PollUntilContextTimeout(ctxFor(t, time.Minute), 500*time.Millisecond, time.Minute, true,
		func(context.Context) (bool, error) {
			adapters = adapterDeployments(t, src)
			return len(adapters) > 0, nil
		})
	if err != nil {
		t.Fatal("the Ready source owns no Deployment")
	}
	account := resources.ServiceAccountName(src)
	if _, err := kube.CoreV1().ServiceAccounts(ns).Get(ctxFor(t, time.Minute), account, metav1.GetOptions{}); err != nil {
		t.Fatalf("the source's ServiceAccount: %v", err)
	}
	if _, err := kube.RbacV1().RoleBindings(ns).Get(ctxFor(t, time.Minute), account, metav1.GetOptions{}); err != nil {
		t.Fatalf("the source's RoleBinding: %v", err)
	}
	// A TaskRun still running when its started event is delivered: the
	// adapter, in its pod with the role config/ grants, journals it.
	apply(t, ns, `
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: long
spec:
  taskSpec:
    steps:
    - {name: wait, image: "{{.Image}}", script: "sleep 60"}
`)
	journal := adaptercontract.JournalName(string(src.UID))
	err = wait.PollUntilContextTimeout(ctxFor(t, 2*time.Minute), time.Second, 2*time.Minute, true,
		func(ctx context.Context) (bool, error) {
			cm, err := kube.CoreV1().ConfigMaps(ns).Get(ctx, journal, metav1.GetOptions{})
			return err == nil && len(cm.Data) == 1, nil
		})
	if err != nil {
		t.Fatalf("the running TaskRun never reached the journal ConfigMap %s/%s", ns, journal)
	}
	if err := sources.SourcesV1alpha1().TektonStepSources(ns).Delete(ctxFor(t, time.Minute), src.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctxFor(t, 2*time.Minute), time.Second, 2*time.Minute, true,
		func(ctx context.Context) (bool, error) {
			_, err := sources.SourcesV1alpha1().TektonStepSources(ns).Get(ctx, src.Name, metav1.GetOptions{})
			return isNotFound(err) && len(adapterDeployments(t, src)) == 0, nil
		})
	if err != nil {
		t.Fatalf("adapter Deployments %v still there after the source was deleted", adapterDeployments(t, src))
	}
	// And its pods go too.
	err = wait.PollUntilContextTimeout(ctxFor(t, 2*time.Minute), time.Second, 2*time.Minute, true,
		func(ctx context.Context) (bool, error) {
			for _, a := range adapters {
				ans, name, _ := strings.Cut(a, "/")
				pods, err := kube.CoreV1().Pods(ans).List(ctx, metav1.ListOptions{})
				if err != nil {
					return false, nil
				}
				for _, p := range pods.Items {
					if strings.HasPrefix(p.Name, name+"-") {
						return false, nil
					}
				}
			}
			return true, nil
		})
	if err != nil {
		t.Fatalf("adapter pods of %v still there", adapters)
	}
	// And the per-source ServiceAccount, RoleBinding and journal: what the
	// source was granted and wrote goes with it (the garbage collector
	// follows their ownerRefs).
	err = wait.PollUntilContextTimeout(ctxFor(t, 2*time.Minute), time.Second, 2*time.Minute, true,
		func(ctx context.Context) (bool, error) {
			_, saErr := kube.CoreV1().ServiceAccounts(ns).Get(ctx, account, metav1.GetOptions{})
			_, rbErr := kube.RbacV1().RoleBindings(ns).Get(ctx, account, metav1.GetOptions{})
			_, cmErr := kube.CoreV1().ConfigMaps(ns).Get(ctx, journal, metav1.GetOptions{})
			return isNotFound(saErr) && isNotFound(rbErr) && isNotFound(cmErr), nil
		})
	if err != nil {
		t.Fatalf("the ServiceAccount or RoleBinding %s/%s or the journal %s is still there after the source was deleted", ns, account, journal)
	}
}
