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
	"strings"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"

	"github.com/tektonstep/tekton-step-source/test/receiver"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// TestMaskingWithoutThePod: once a step's pod is gone (pruned, or deleted
// with its TaskRun still kept), the Secrets to mask come from the resolved
// spec and the TaskRun's workspace bindings; a value of a Secret bound only
// as a workspace (a Secret or projected one), substituted into the script,
// never leaves in an event.
func TestMaskingWithoutThePod(t *testing.T) {
	ns := cp.NewNamespace(t)
	ctx := context.Background()
	kube := kubernetes.NewForConfigOrDie(cp.Config)
	planted := map[string]string{"ws-secret": "ws-planted-" + rand.String(10), "ws-projected": "ws-projected-" + rand.String(10)}
	for name, value := range planted {
		if _, err := kube.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name}, StringData: map[string]string{"value": value},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := sourceConfig(ns)
	cfg.MaskSecretValues = true
	sink := receiver.New(t)
	startAdapter(t, cfg, sink.URL, nil)

	client := tektonclient.NewForConfigOrDie(cp.Config)
	run := sim.MustCreate(t, client, ns, "build", nil, "a")
	tr, err := client.TektonV1().TaskRuns(ns).Get(ctx, "build", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tr.Spec.Workspaces = []pipelinev1.WorkspaceBinding{
		{Name: "creds", Secret: &corev1.SecretVolumeSource{SecretName: "ws-secret"}},
		{Name: "cfg", Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "ws-projected"}}}}}},
	}
	if _, err := client.TektonV1().TaskRuns(ns).Update(ctx, tr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	script := "login " + planted["ws-secret"] + " " + planted["ws-projected"]
	if err := run.SetScript(ctx, "a", script); err != nil {
		t.Fatal(err)
	}
	// No pod of that name exists: the adapter finds it gone.
	run.MustSetSteps(t, sim.Succeeded())
	evs, err := sink.WaitForCount(ctx, time.Minute, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		raw := e.String()
		for name, value := range planted {
			if strings.Contains(raw, value) {
				t.Errorf("event %s carries the value of Secret %s, bound as a workspace:\n%s", e.ID(), name, raw)
			}
		}
		if !strings.Contains(string(e.Data()), `"script":"login *** ***"`) {
			t.Errorf("event %s does not carry the masked script (the check would prove nothing):\n%s", e.ID(), raw)
		}
	}
}
