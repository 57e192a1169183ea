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

package recipes

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	eventingclient "knative.dev/eventing/pkg/client/clientset/versioned"
	sourcecrd "knative.dev/eventing/pkg/reconciler/source/crd"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/injection"
	"knative.dev/pkg/logging"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	sourcesclient "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned"
	"github.com/tektonstep/tekton-step-source/pkg/reconciler/tektonstepsource"
	"github.com/tektonstep/tekton-step-source/test/inprocess"
)

// TestKnativeRegistersTheEventTypes runs, in process against the real
// apiserver, our controller and Knative Eventing's own source-CRD
// reconciler (knative.dev/eventing/pkg/reconciler/source/crd, as Eventing's
// controller runs it): it must find our CRD by its duck label and, for a
// source whose sink is a Broker, register one EventType per step type from
// status.ceAttributes, with the CRD annotation's description and schema.
func TestKnativeRegistersTheEventTypes(t *testing.T) {
	ctx, cancel := context.WithCancel(logging.WithLogger(context.Background(), zap.NewNop().Sugar()))
	defer cancel()
	ns := cp.NewNamespace(t)

	brokers := dynamic.NewForConfigOrDie(cp.Config).Resource(
		schema.GroupVersionResource{Group: "eventing.knative.dev", Version: "v1", Resource: "brokers"}).Namespace(ns)
	broker, err := brokers.Create(ctx, &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "eventing.knative.dev/v1", "kind": "Broker",
		"metadata": map[string]interface{}{"name": "default"}, "spec": map[string]interface{}{},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedField(broker.Object, "http://broker-ingress.knative-eventing.svc.cluster.local/"+ns+"/default",
		"status", "address", "url"); err != nil {
		t.Fatal(err)
	}
	if _, err := brokers.UpdateStatus(ctx, broker, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	controllers := make(chan error, 2)
	go func() { controllers <- inprocess.RunController(ctx, cp.Config) }()
	go func() { controllers <- runSourceCRDReconciler(ctx) }()

	src, err := sourcesclient.NewForConfigOrDie(cp.Config).SourcesV1alpha1().TektonStepSources(ns).Create(ctx, &v1alpha1.TektonStepSource{
		ObjectMeta: metav1.ObjectMeta{Name: "to-broker"},
		Spec: v1alpha1.TektonStepSourceSpec{SourceSpec: duckv1.SourceSpec{Sink: duckv1.Destination{
			Ref: &duckv1.KReference{APIVersion: "eventing.knative.dev/v1", Kind: "Broker", Name: "default"},
		}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	eventing := eventingclient.NewForConfigOrDie(cp.Config)
	type registered struct{ Type, Source, Broker, Schema, Description, Owner string }
	var got []registered
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-controllers:
			t.Fatalf("a controller stopped: %v", err)
		default:
		}
		list, err := eventing.EventingV1beta2().EventTypes(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		got = got[:0]
		for _, et := range list.Items {
			r := registered{Type: et.Spec.Type, Source: et.Spec.Source.String(), Schema: et.Spec.Schema.String(), Description: et.Spec.Description}
			if et.Spec.Reference != nil {
				r.Broker = et.Spec.Reference.Kind + "/" + et.Spec.Reference.Name
			}
			if owner := metav1.GetControllerOf(&et); owner != nil {
				r.Owner = owner.Kind + "/" + owner.Name
			}
			got = append(got, r)
		}
		return len(got) >= len(v1alpha1.EventTypes), nil
	}); err != nil {
		t.Fatalf("EventTypes registered for the source: %+v (%v)", got, err)
	}

	descriptions := map[string]string{}
	for _, e := range eventTypesAnnotation(t) {
		descriptions[e.Type] = e.Description
	}
	// One EventType per entry of status.ceAttributes, as the controller wrote it.
	src, err = sourcesclient.NewForConfigOrDie(cp.Config).SourcesV1alpha1().TektonStepSources(ns).Get(ctx, src.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var want []registered
	for _, a := range src.Status.CloudEventAttributes {
		want = append(want, registered{Type: a.Type, Source: a.Source, Broker: "Broker/default",
			Schema: v1alpha1.StepEventDataSchema, Description: descriptions[a.Type], Owner: "TektonStepSource/" + src.Name})
	}
	if len(want) != len(v1alpha1.EventTypes) {
		t.Errorf("status.ceAttributes = %+v, want one per step type", src.Status.CloudEventAttributes)
	}
	sort.Slice(got, func(i, j int) bool { return got[i].Type < got[j].Type })
	sort.Slice(want, func(i, j int) bool { return want[i].Type < want[j].Type })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("EventTypes (-want +got):\n%s", diff)
	}
}

// runSourceCRDReconciler runs Knative Eventing's source-CRD reconciler until
// ctx is done, with the informers injection registered in this binary (ours
// too, whose filtered factories want their selectors). No leader election is
// configured, so it leads at once.
func runSourceCRDReconciler(ctx context.Context) error {
	ctx = tektonstepsource.WithInformerSelectors(ctx)
	ctx = injection.WithConfig(ctx, cp.Config)
	ctx, informers := injection.Default.SetupInformers(ctx, cp.Config)
	impl := sourcecrd.NewController(ctx, configmap.NewStaticWatcher())
	if err := controller.StartInformers(ctx.Done(), informers...); err != nil {
		return err
	}
	return controller.StartAll(ctx, impl)
}
