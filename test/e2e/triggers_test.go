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
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
)

var eventListenersGVR = schema.GroupVersionResource{Group: "triggers.tekton.dev", Version: "v1beta1", Resource: "eventlisteners"}

// TestEventListenerStartsOneFollowUp applies the EventListener recipe of
// docs/recipes.md to a real Tekton Triggers EventListener (its own pod and
// Service, the real cel ClusterInterceptor) with a follow-up step that
// fails too. A failed step must start exactly one follow-up TaskRun, with
// the failure's params, and the recursion guard must keep the follow-up's
// own failure from starting another (the second source, straight to the
// event display, shows that the follow-up did fail).
func TestEventListenerStartsOneFollowUp(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "samples", "recipes", "eventlistener-step-failed.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	recipe := string(data)
	for old, repl := range map[string]string{
		// The ClusterRoleBinding's subject is in this test's namespace.
		"name: step-failure-listener-default": "name: step-failure-listener-" + ns,
		"namespace: default":                  "namespace: " + ns,
		"image: busybox":                      "image: {{.Image}}",
		// The follow-up fails as well: without the guard it would start
		// another follow-up, and that one another.
		"failed: $(params.reason)\"\n": "failed: $(params.reason)\"\n            exit 1\n",
	} {
		if !strings.Contains(recipe, old) {
			t.Fatalf("the recipe no longer has %q", old)
		}
		recipe = strings.ReplaceAll(recipe, old, repl)
	}
	t.Cleanup(func() {
		_ = kube.RbacV1().ClusterRoleBindings().Delete(context.Background(), "step-failure-listener-"+ns, metav1.DeleteOptions{})
	})
	newSource(t, ns, "direct", viaOverride("direct"))
	apply(t, ns, recipe)
	waitReady(t, eventListenersGVR, ns, "step-failures")
	waitSourceReady(t, ns, "step-failures-to-listener")

	apply(t, ns, `
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: deploy
spec:
  taskSpec:
    steps:
    - {name: render, image: "{{.Image}}", script: "echo rendered"}
    - {name: apply, image: "{{.Image}}", script: "echo denied; exit 4"}
`)
	waitTaskRun(t, ns, "deploy")

	// The follow-up: created once, for the failed step, and it fails.
	followUps := func(ctx context.Context) ([]pipelinev1.TaskRun, error) {
		list, err := tekton.TektonV1().TaskRuns(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/part-of=step-failure-listener"})
		if err != nil {
			return nil, err
		}
		return list.Items, nil
	}
	var runs []pipelinev1.TaskRun
	err = wait.PollUntilContextTimeout(ctxFor(t, 3*time.Minute), time.Second, 3*time.Minute, true,
		func(ctx context.Context) (bool, error) {
			runs, err = followUps(ctx)
			return err == nil && len(runs) > 0, nil
		})
	if err != nil {
		t.Fatalf("the EventListener started no follow-up TaskRun: %v", err)
	}
	followUp := runs[0].Name
	params := map[string]string{}
	for _, p := range runs[0].Spec.Params {
		params[p.Name] = p.Value.StringVal
	}
	for k, v := range map[string]string{"taskrun": "deploy", "attempt": "0", "step": "apply", "reason": "Error", "pipelinerun": ""} {
		if params[k] != v {
			t.Errorf("follow-up %s: param %s=%q, want %q (all: %v)", followUp, k, params[k], v, params)
		}
	}
	if got := runs[0].Labels["triggers.tekton.dev/eventlistener"]; got != "step-failures" {
		t.Errorf("follow-up %s: label triggers.tekton.dev/eventlistener=%q, want step-failures", followUp, got)
	}
	tr := waitTaskRun(t, ns, followUp)
	if c := tr.Status.GetCondition("Succeeded"); c == nil || !c.IsFalse() {
		t.Fatalf("follow-up %s did not fail: %+v", followUp, c)
	}
	// The direct source saw the follow-up's step fail ...
	waitEvents(t, 1, func(e cloudevents.Event) bool {
		return ext(e, "tektonnamespace") == ns && ext(e, "via") == "direct" &&
			ext(e, "tektontaskrun") == followUp && e.Type() == typePrefix+"failed.v1"
	})
	// ... and the EventListener started nothing more (the listener source
	// never sent it the follow-up's failure).
	time.Sleep(10 * time.Second)
	if runs, err = followUps(ctxFor(t, time.Minute)); err != nil || len(runs) != 1 {
		var names []string
		for _, r := range runs {
			names = append(names, r.Name)
		}
		t.Fatalf("want exactly one follow-up TaskRun, got %v (%v)", names, err)
	}
}
