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

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	fakemetadata "k8s.io/client-go/metadata/fake"
	o11yconfigmap "knative.dev/eventing/pkg/observability/configmap"
	filteredfactory "knative.dev/pkg/client/injection/kube/informers/factory/filtered"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/injection"
	"knative.dev/pkg/logging"
	. "knative.dev/pkg/reconciler/testing" //nolint:staticcheck // The table test vocabulary, as in Knative.

	// Fake injection clients and informers.
	_ "knative.dev/pkg/client/injection/kube/informers/apps/v1/deployment/filtered/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/core/v1/namespace/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/core/v1/pod/filtered/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/core/v1/serviceaccount/filtered/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/factory/filtered/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/rbac/v1/clusterrole/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/rbac/v1/role/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/rbac/v1/role/filtered/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/rbac/v1/rolebinding/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/rbac/v1/rolebinding/filtered/fake"
	_ "knative.dev/pkg/injection/clients/dynamicclient/fake"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	_ "github.com/tektonstep/tekton-step-source/pkg/client/injection/informers/sources/v1alpha1/tektonstepsource/fake"
	"github.com/tektonstep/tekton-step-source/pkg/reconciler/tektonstepsource/resources"
)

// The informer of the addressable CustomResourceDefinitions on a fake
// metadata client, as injection.Fake has the controller's other informers.
func init() {
	injection.Fake.RegisterInformer(func(ctx context.Context) (context.Context, controller.Informer) {
		return withAddressableCRDsOf(ctx, fakemetadata.NewSimpleMetadataClient(runtime.NewScheme()))
	})
}

func configMapWatcher() configmap.Watcher {
	return configmap.NewStaticWatcher(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: logging.ConfigMapName(), Namespace: "tekton-step-source"},
			Data: map[string]string{"loglevel.tekton-step-source-adapter": "debug"}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: o11yconfigmap.Name(), Namespace: "tekton-step-source"}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: adaptercontract.MaskingConfigMap, Namespace: "tekton-step-source"},
			Data: map[string]string{adaptercontract.MaskingPatternsKey: `\bACME-[0-9]{6}\b`}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: resources.AdapterConfigMap, Namespace: "tekton-step-source"}},
	)
}

func TestNewController(t *testing.T) {
	ctx, _ := SetupFakeContext(t, WithInformerSelectors)
	t.Setenv(AdapterImageEnv, "registry.example/adapter")

	impl := NewController(ctx, configMapWatcher())
	if impl == nil || impl.Reconciler == nil || impl.Tracker == nil {
		t.Fatalf("NewController returned an incomplete controller: %+v", impl)
	}
}

func TestNewControllerNeedsTheAdapterImage(t *testing.T) {
	ctx, _ := SetupFakeContext(t, WithInformerSelectors)
	t.Setenv(AdapterImageEnv, "")
	defer func() {
		if recover() == nil {
			t.Errorf("NewController did not refuse to start without %s", AdapterImageEnv)
		}
	}()
	NewController(ctx, configMapWatcher())
}

func TestWithInformerSelectors(t *testing.T) {
	other := "app=other"
	ctx := filteredfactory.WithSelectors(context.Background(), other)
	ctx = WithInformerSelectors(WithInformerSelectors(ctx))
	got, _ := ctx.Value(filteredfactory.LabelKey{}).([]string)
	if diff := cmp.Diff([]string{other, resources.AdapterSelector, "tekton.dev/taskRun", "eventing.knative.dev/oidc"}, got); diff != "" {
		t.Errorf("selectors (-want +got):\n%s", diff)
	}
}

// TestMaskPatterns: the config-masking ConfigMap's patterns reach the
// adapters; an invalid one keeps the previous patterns.
func TestMaskPatterns(t *testing.T) {
	ctx := context.Background()
	cm := func(patterns string) *corev1.ConfigMap {
		return &corev1.ConfigMap{Data: map[string]string{adaptercontract.MaskingPatternsKey: patterns}}
	}
	r := &Reconciler{MaskPatterns: &MaskPatterns{}}
	steps := []struct {
		patterns    string
		wantChanged bool
		want        []string
	}{
		{patterns: "", wantChanged: true, want: []string{}},
		{patterns: "# ours\n\\bACME-[0-9]+\\b\n", wantChanged: true, want: []string{`\bACME-[0-9]+\b`}},
		{patterns: "\\bACME-[0-9]+\\b", wantChanged: false, want: []string{`\bACME-[0-9]+\b`}},
		{patterns: "a(b", wantChanged: false, want: []string{`\bACME-[0-9]+\b`}},
		{patterns: "x{3}", wantChanged: true, want: []string{"x{3}"}},
	}
	for i, step := range steps {
		if changed := r.MaskPatterns.Update(ctx, cm(step.patterns)); changed != step.wantChanged {
			t.Errorf("step %d: changed = %v, want %v", i, changed, step.wantChanged)
		}
		if diff := cmp.Diff(step.want, r.maskPatterns(), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("step %d: patterns (-want +got):\n%s", i, diff)
		}
	}
}

// TestAdapterResources: the config-tektonstep-adapter ConfigMap's
// resources reach the adapters; an invalid value keeps the previous ones.
func TestAdapterResources(t *testing.T) {
	ctx := context.Background()
	cm := func(value string) *corev1.ConfigMap {
		return &corev1.ConfigMap{Data: map[string]string{resources.AdapterResourcesKey: value}}
	}
	r := &Reconciler{AdapterResources: &AdapterResources{}}
	if got, keep := r.adapterResources(); got != nil || keep {
		t.Fatalf("before the ConfigMap is read: %+v (keep %v), want nil (the default)", got, keep)
	}
	memoryLimit := func() string {
		got, keep := r.adapterResources()
		switch {
		case keep:
			return "kept"
		case got == nil:
			return "none"
		}
		return got.Limits.Memory().String()
	}
	steps := []struct {
		value       string
		wantChanged bool
		wantLimit   string
	}{
		// Invalid before any valid one: every adapter keeps its own.
		{value: "limits: {memroy: 1Gi}", wantChanged: false, wantLimit: "kept"},
		{value: "", wantChanged: true, wantLimit: "256Mi"},
		{value: "limits: {memory: 1Gi}", wantChanged: true, wantLimit: "1Gi"},
		{value: `{"limits": {"memory": "1Gi"}}`, wantChanged: false, wantLimit: "1Gi"},
		{value: "limits: {memory: 1Gi, memroy: 2Gi}", wantChanged: false, wantLimit: "1Gi"},
		{value: "", wantChanged: true, wantLimit: "256Mi"},
	}
	for i, step := range steps {
		if changed := r.AdapterResources.Update(ctx, cm(step.value)); changed != step.wantChanged {
			t.Errorf("step %d: changed = %v, want %v", i, changed, step.wantChanged)
		}
		if got := memoryLimit(); got != step.wantLimit {
			t.Errorf("step %d: memory limit %s, want %s", i, got, step.wantLimit)
		}
	}
}
