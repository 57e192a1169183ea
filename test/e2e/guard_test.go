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
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
)

// TestGuardReleasesADeletedRunningTaskRun runs the deletion guard with the
// real Tekton controller: a TaskRun with the source's finalizer is deleted
// while its step sleeps. Tekton leaves a TaskRun being deleted alone (its
// step never finishes in the status), so the adapter records the started
// event and releases it: the TaskRun and its pod go within a minute, not at
// the 10 min deadline, and no other event appears.
func TestGuardReleasesADeletedRunningTaskRun(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	partialStream(ns) // the TaskRun goes while its step runs
	src := newSource(t, ns, "guarded", "deletionGuard: {deadline: 10m}\n")
	finalizer := adaptercontract.GuardFinalizer(string(src.UID))
	apply(t, ns, `
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: cut-short
spec:
  taskSpec:
    steps:
    - {name: wait, image: "{{.Image}}", script: "echo waiting; sleep 600"}
`)
	eventsOf(t, ns, "cut-short", 1)
	tr, err := tekton.TektonV1().TaskRuns(ns).Get(ctxFor(t, time.Minute), "cut-short", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(tr.Finalizers, finalizer) {
		t.Fatalf("the running TaskRun has finalizers %v, want the guard's %s", tr.Finalizers, finalizer)
	}
	pod := tr.Status.PodName
	deleted := time.Now()
	if err := tekton.TektonV1().TaskRuns(ns).Delete(ctxFor(t, time.Minute), "cut-short", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctxFor(t, 2*time.Minute), time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := tekton.TektonV1().TaskRuns(ns).Get(ctx, "cut-short", metav1.GetOptions{})
		return isNotFound(err), nil
	})
	if err != nil {
		t.Fatalf("the deleted TaskRun is still there after %s: %v", time.Since(deleted).Round(time.Second), err)
	}
	err = wait.PollUntilContextTimeout(ctxFor(t, 2*time.Minute), time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := kube.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
		return isNotFound(err), nil
	})
	if err != nil {
		t.Fatalf("the deleted TaskRun's pod %s is still there: %v", pod, err)
	}
	if got := eventsOf(t, ns, "cut-short", 1); len(got) != 1 || ext(got[0], "tektonstep") != "wait" {
		t.Errorf("events after the deletion: %s", describe(got))
	}
	t.Logf("released %s after its deletion", time.Since(deleted).Round(time.Second))
}
