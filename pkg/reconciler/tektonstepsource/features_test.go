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

package tektonstepsource

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"knative.dev/eventing/pkg/apis/feature"
	logtesting "knative.dev/pkg/logging/testing"
)

func featuresConfigMap(ns, oidc string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "config-features", Namespace: ns},
		Data: map[string]string{"authentication-oidc": oidc}}
}

// TestWatchFeatures: the flags are read when watchFeatures returns (never
// the default while the real ConfigMap is there), only the ConfigMap of
// Eventing's namespace counts, Knative's defaults apply without one, and a
// deletion keeps the flags last read, as Knative's controllers do.
func TestWatchFeatures(t *testing.T) {
	tests := []struct {
		name    string
		objects []runtime.Object
		want    bool
	}{
		{name: "no config-features: Knative's defaults", want: false},
		{name: "enabled", objects: []runtime.Object{featuresConfigMap("knative-eventing", "enabled")}, want: true},
		{name: "disabled", objects: []runtime.Object{featuresConfigMap("knative-eventing", "disabled")}, want: false},
		{name: "another namespace's config-features does not count",
			objects: []runtime.Object{featuresConfigMap("knative-serving", "enabled")}, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A few times: the ConfigMap must be applied before the return,
			// not by the informer's handler some time after (a race rare
			// enough that no count of runs here would show it reliably).
			for i := 0; i < 3; i++ {
				ctx, cancel := context.WithCancel(logtesting.TestContextWithLogger(t))
				store := feature.NewStore(logtesting.TestLogger(t))
				if err := watchFeatures(ctx, fake.NewClientset(tc.objects...), store); err != nil {
					t.Fatal(err)
				}
				if got := store.IsEnabled(feature.OIDCAuthentication); got != tc.want {
					t.Fatalf("run %d: authentication-oidc enabled = %v, want %v", i, got, tc.want)
				}
				cancel()
			}
		})
	}
}

func TestWatchFeaturesFollowsChangesAndKeepsFlagsOnDeletion(t *testing.T) {
	ctx := logtesting.TestContextWithLogger(t)
	kube := fake.NewClientset()
	changed := make(chan struct{}, 10)
	store := feature.NewStore(logtesting.TestLogger(t), func(string, interface{}) { changed <- struct{}{} })
	if err := watchFeatures(ctx, kube, store); err != nil {
		t.Fatal(err)
	}
	drain := func() {
		for {
			select {
			case <-changed:
			default:
				return
			}
		}
	}
	waitFlag := func(want bool) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for store.IsEnabled(feature.OIDCAuthentication) != want {
			select {
			case <-changed:
			case <-deadline:
				t.Fatalf("authentication-oidc enabled stayed %v", !want)
			}
		}
	}
	drain()
	cms := kube.CoreV1().ConfigMaps("knative-eventing")
	if _, err := cms.Create(ctx, featuresConfigMap("knative-eventing", "enabled"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFlag(true)
	if err := cms.Delete(ctx, "config-features", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// The deletion reaches the watcher, which passes on its default; the
	// flags must stay. A later ConfigMap shows the deletion was seen.
	time.Sleep(200 * time.Millisecond)
	if !store.IsEnabled(feature.OIDCAuthentication) {
		t.Fatal("deleting config-features turned authentication-oidc off")
	}
	if _, err := cms.Create(ctx, featuresConfigMap("knative-eventing", "disabled"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFlag(false)
}
