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

package integration

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"

	stepadapter "github.com/tektonstep/tekton-step-source/pkg/adapter"
	"github.com/tektonstep/tekton-step-source/test/receiver"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// apiCalls records the requests a client sends to the apiserver.
type apiCalls struct {
	mu    sync.Mutex
	calls []*http.Request
}

func (c *apiCalls) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		c.mu.Lock()
		c.calls = append(c.calls, req.Clone(context.Background()))
		c.mu.Unlock()
		return next.RoundTrip(req)
	})
}

// count is how many recorded requests match.
func (c *apiCalls) count(match func(*http.Request) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, req := range c.calls {
		if match(req) {
			n++
		}
	}
	return n
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// TestFilteredEventsCostNoReads: every attribute a filter can test is known
// before the reads an event's data needs, so an event the source's filters
// drop costs no API call: neither the Secrets its step references (to mask
// their values) nor its step's log are read. The kept step's reads are
// the check's control: the same reads happen for an event that passes.
func TestFilteredEventsCostNoReads(t *testing.T) {
	ns := cp.NewNamespace(t)
	ctx := context.Background()
	kube := kubernetes.NewForConfigOrDie(cp.Config)
	for _, name := range []string{"dropped-secret", "kept-secret"} {
		if _, err := kube.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name}, StringData: map[string]string{"value": "v-" + name},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	client := tektonclient.NewForConfigOrDie(cp.Config)
	run := sim.MustCreate(t, client, ns, "build", nil, "dropped", "kept")
	// The step's pod, as Tekton creates it: each step's container takes a
	// Secret of its own.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: run.PodName()}}
	for _, step := range []string{"dropped", "kept"} {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "step-" + step, Image: "busybox",
			Env: []corev1.EnvVar{{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: step + "-secret"}, Key: "value"}}}}})
	}
	if _, err := kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	cfg := sourceConfig(ns)
	cfg.MaskSecretValues = true
	cfg.Filters = []eventingv1.SubscriptionsAPIFilter{{Exact: map[string]string{"tektonstep": "kept"}}}
	calls := &apiCalls{}
	sink := receiver.New(t)
	startAdapter(t, cfg, sink.URL, nil, func(o *stepadapter.Options) {
		counted := rest.CopyConfig(cp.Config)
		counted.Wrap(calls.wrap)
		o.Kube = kubernetes.NewForConfigOrDie(counted)
	})
	if err := run.Complete(ctx, true, sim.Succeeded(), sim.Succeeded()); err != nil {
		t.Fatal(err)
	}
	// The kept step's started and succeeded events; the dropped step's
	// come before them in the TaskRun's order, so they were filtered by
	// then.
	evs, err := sink.WaitForCount(ctx, time.Minute, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := sequence(evs); len(got) != 2 || got[0] != "build/kept/started" || got[1] != "build/kept/succeeded" {
		t.Fatalf("events %v, want the kept step's started and succeeded", got)
	}
	// Both steps' terminal transitions recorded in the finished
	// attempt's checkpoint: the dropped step's were handled too.
	waitForCheckpoint(t, client, ns, "build", cfg.SourceUID, `"s":{"dropped":2,"kept":2}`)
	secretReads := func(name string) func(*http.Request) bool {
		return func(req *http.Request) bool { return req.URL.Path == "/api/v1/namespaces/"+ns+"/secrets/"+name }
	}
	logReads := func(container string) func(*http.Request) bool {
		return func(req *http.Request) bool {
			return req.URL.Path == "/api/v1/namespaces/"+ns+"/pods/"+pod.Name+"/log" && req.URL.Query().Get("container") == container
		}
	}
	if n := calls.count(secretReads("kept-secret")); n == 0 {
		t.Error("the kept step's Secret was never read: the check proves nothing")
	}
	if n := calls.count(logReads("step-kept")); n == 0 {
		t.Error("the kept step's log was never read: the check proves nothing")
	}
	if n := calls.count(secretReads("dropped-secret")); n != 0 {
		t.Errorf("the filtered step's Secret was read %d times, want 0", n)
	}
	if n := calls.count(logReads("step-dropped")); n != 0 {
		t.Errorf("the filtered step's log was read %d times, want 0", n)
	}
}
