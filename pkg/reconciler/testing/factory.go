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

package testing

import (
	"context"
	"testing"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	fakekubeclient "knative.dev/pkg/client/injection/kube/client/fake"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	fakedynamicclient "knative.dev/pkg/injection/clients/dynamicclient/fake"
	"knative.dev/pkg/logging"
	"knative.dev/pkg/reconciler"
	. "knative.dev/pkg/reconciler/testing" //nolint:staticcheck // The table test vocabulary, as in Knative.

	fakesourcesclient "github.com/tektonstep/tekton-step-source/pkg/client/injection/client/fake"
)

// eventBufferSize bounds the events one reconciliation may record; the fake
// recorder blocks beyond it.
const eventBufferSize = 20

// Ctor builds the reconciler under test from the fake clients in ctx and the
// listers over the row's objects.
type Ctor func(context.Context, *Listers, configmap.Watcher) controller.Reconciler

// MakeFactory returns a TableTest factory: the row's objects are served by
// listers, the fake Kubernetes and TektonStepSource clientsets, and (as
// unstructured objects, for the sink resolver's Addressable duck informers)
// the fake dynamic client.
func MakeFactory(ctor Ctor, logger *zap.SugaredLogger) Factory {
	return func(t *testing.T, r *TableRow) (controller.Reconciler, ActionRecorderList, EventList) {
		ls := NewListers(r.Objects)

		ctx := r.Ctx
		if ctx == nil {
			ctx = context.Background()
		}
		ctx = logging.WithLogger(ctx, logger)
		r.Ctx = ctx

		ctx, kubeClient := fakekubeclient.With(ctx, ls.GetKubeObjects()...)
		ctx, sourcesClient := fakesourcesclient.With(ctx, ls.GetSourcesObjects()...)
		ctx, dynamicClient := fakedynamicclient.With(ctx, NewScheme(), ToUnstructured(t, r.Objects)...)

		recorder := record.NewFakeRecorder(eventBufferSize)
		ctx = controller.WithEventRecorder(ctx, recorder)

		var cms []*corev1.ConfigMap
		for _, obj := range r.Objects {
			if cm, ok := obj.(*corev1.ConfigMap); ok {
				cms = append(cms, cm)
			}
		}

		c := ctor(ctx, &ls, configmap.NewStaticWatcher(cms...))
		if la, ok := c.(reconciler.LeaderAware); ok {
			_ = la.Promote(reconciler.UniversalBucket(), func(reconciler.Bucket, types.NamespacedName) {})
		}

		for _, reactor := range r.WithReactors {
			kubeClient.PrependReactor("*", "*", reactor)
			sourcesClient.PrependReactor("*", "*", reactor)
			dynamicClient.PrependReactor("*", "*", reactor)
		}
		return c, ActionRecorderList{dynamicClient, sourcesClient, kubeClient}, EventList{Recorder: recorder}
	}
}

// ToUnstructured converts objects for the fake dynamic client, which only
// handles unstructured objects properly.
func ToUnstructured(t *testing.T, objs []runtime.Object) []runtime.Object {
	t.Helper()
	scheme := NewScheme()
	us := make([]runtime.Object, 0, len(objs))
	for _, obj := range objs {
		obj = obj.DeepCopyObject()
		gvks, _, err := scheme.ObjectKinds(obj)
		if err != nil {
			t.Fatal("Unable to determine kind for type:", err)
		}
		apiVersion, kind := gvks[0].ToAPIVersionAndKind()
		ta, err := meta.TypeAccessor(obj)
		if err != nil {
			t.Fatal("Unable to create type accessor:", err)
		}
		ta.SetAPIVersion(apiVersion)
		ta.SetKind(kind)
		content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			t.Fatal("Unable to convert to unstructured:", err)
		}
		us = append(us, &unstructured.Unstructured{Object: content})
	}
	return us
}
