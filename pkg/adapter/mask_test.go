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

package adapter

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/events"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/masking"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/streams"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
)

// TestSecretValuesMasked: with masking of secret values, the values of the
// Secrets the step's container references in its pod are masked in its
// log (the fake clientset's logs read "fake logs"); a Secret that cannot be
// read withholds the log rather than send it unmasked; without the option
// no pod or Secret is read.
func TestSecretValuesMasked(t *testing.T) {
	tests := []struct {
		name       string
		mask       bool
		secret     bool
		wantLog    string
		wantLogErr string
		wantReads  int
	}{
		{name: "masked", mask: true, secret: true, wantLog: "*** logs", wantReads: 2},
		{name: "the Secret cannot be read: the log is withheld", mask: true, wantLogErr: `log and results withheld: the step references Secret "creds", which could not be read`, wantReads: 2},
		{name: "off: nothing read, nothing masked", secret: true, wantLog: "fake logs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, kube, sink := newLogTestAdapter(t)
			a.opts.Config.MaskSecretValues = tc.mask
			ctx := context.Background()
			tr := finishedRun(at(9), "")
			if _, err := kube.CoreV1().Pods(tr.Namespace).Create(ctx, credsPod(tr), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if tc.secret {
				secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: tr.Namespace}, Data: map[string][]byte{"token": []byte("fake")}}
				if _, err := kube.CoreV1().Secrets(tr.Namespace).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			kube.ClearActions()
			if err := a.deliver(ctx, tr, succeededA(tr), streams.Live, ""); err != nil {
				t.Fatal(err)
			}
			reads := 0
			for _, action := range kube.Actions() {
				if r := action.GetResource().Resource; action.GetVerb() == "get" && (r == "secrets" || r == "pods" && action.GetSubresource() == "") {
					reads++
				}
			}
			if reads != tc.wantReads {
				t.Errorf("%d pod and Secret reads, want %d", reads, tc.wantReads)
			}
			evs := sink.Events()
			if len(evs) != 1 {
				t.Fatalf("%d events, want 1", len(evs))
			}
			var d events.Data
			if err := evs[0].DataAs(&d); err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.wantLogErr != "":
				if d.Log != nil || !strings.Contains(d.LogError, tc.wantLogErr) {
					t.Errorf("log %v, logError %q; want none and %q", d.Log, d.LogError, tc.wantLogErr)
				}
			case d.Log == nil || *d.Log != tc.wantLog:
				t.Errorf("log = %v, want %q", d.Log, tc.wantLog)
			}
		})
	}
}

// credsPod is the pod of the TaskRun, whose step "a" references Secret
// "creds".
func credsPod(tr *pipelinev1.TaskRun) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: tr.Status.PodName, Namespace: tr.Namespace}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "step-a", Env: []corev1.EnvVar{{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "token"}}}}}},
	}}
}

// succeededA is the transition of the TaskRun's step "a" to succeeded.
func succeededA(tr *pipelinev1.TaskRun) transitions.Transition {
	for _, tt := range transitions.ForTaskRun(tr, time.Time{}) {
		if tt.Kind == transitions.Succeeded && tt.StepState.Name == "a" {
			return tt
		}
	}
	panic("no succeeded transition of step a")
}

// TestMaskersShared: during a sink outage, the retry states of TaskRuns
// whose steps reference the same Secret version hold one masker, counted
// once in the retries' memory; a new version of the Secret makes a new
// masker, which masks its new value.
func TestMaskersShared(t *testing.T) {
	const runs = 5
	a, kube, sink := newLogTestAdapter(t)
	a.opts.Config.MaskSecretValues = true
	ctx := context.Background()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: "ns", ResourceVersion: "7"},
		Data: map[string][]byte{"token": []byte("fake")}}
	if _, err := kube.CoreV1().Secrets("ns").Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sink.FailWith(http.StatusServiceUnavailable)
	deliverRun := func(i int) streams.Attempt {
		tr := finishedRun(at(9), "")
		tr.Name, tr.UID, tr.Status.PodName = fmt.Sprintf("tr-%d", i), types.UID(fmt.Sprintf("uid-%d", i)), fmt.Sprintf("pod-%d", i)
		if _, err := kube.CoreV1().Pods("ns").Create(ctx, credsPod(tr), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := a.deliver(ctx, tr, succeededA(tr), streams.Live, ""); err == nil {
			t.Fatal("delivered to a failing sink")
		}
		at, ok := a.streams.Attempt(types.NamespacedName{Namespace: tr.Namespace, Name: tr.Name}, tr.UID, streams.Live, succeededA(tr).ID(tr.UID))
		if !ok || at.Masker == nil || at.Log == nil {
			t.Fatalf("attempt of run %d = %+v, %v; want one holding its masker and log", i, at, ok)
		}
		return at
	}
	first := deliverRun(0)
	for i := 1; i < runs; i++ {
		if at := deliverRun(i); at.Masker != first.Masker {
			t.Fatalf("run %d holds a masker of its own", i)
		}
	}
	logBytes := len(first.Log.Text)
	if want := first.Masker.Size() + runs*logBytes; a.streams.Held() != want {
		t.Errorf("attempts hold %d bytes, want %d: one masker and %d logs", a.streams.Held(), want, runs)
	}
	secret.ResourceVersion, secret.Data = "8", map[string][]byte{"token": []byte("rotated-value")}
	if _, err := kube.CoreV1().Secrets("ns").Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	rotated := deliverRun(runs)
	if rotated.Masker == first.Masker || rotated.Masker.String("rotated-value") != masking.Mask {
		t.Error("the Secret's new version was masked with the old version's masker")
	}
	if want := first.Masker.Size() + rotated.Masker.Size() + (runs+1)*logBytes; a.streams.Held() != want {
		t.Errorf("attempts hold %d bytes, want %d: two maskers and %d logs", a.streams.Held(), want, runs+1)
	}
}
