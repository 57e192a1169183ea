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
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/ptr"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	"github.com/tektonstep/tekton-step-source/test/controlplane"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// TestControllerRefusesSinksThatCannotBeAddressable: a source whose sink
// ref is a Pod and one whose dead-letter sink ref is a TaskRun are refused
// in their status (the field, its value, what is accepted) and by a
// Warning Event, and the controller lists and watches no pods and no
// TaskRuns for them: the apiserver's counts of cluster-wide LIST requests
// of pods and TaskRuns and of open cluster-wide WATCHes of them do not
// move. (The controller lists and watches TaskRun pods and TaskRuns'
// metadata for other purposes from its start: the counts are taken once
// those watches are in place.) A Broker, a core v1 Service and an
// EventListener still resolve.
func TestControllerRefusesSinksThatCannotBeAddressable(t *testing.T) {
	env := startController(t)
	ns := cp.NewNamespace(t)
	ctx := context.Background()
	uri := duckv1.Destination{URI: apis.HTTP("display." + ns + ".svc.cluster.local")}

	// Once a source is reconciled, the controller's injected informers
	// (the TaskRun pods' among them) have listed and watch. The deletion
	// guard's TaskRun informer starts beside them, unwaited: it watches
	// once it has released a TaskRun guarded by a source that does not
	// exist.
	env.createSource(t, ns, newSourceObject("first", uri))
	env.waitForSource(t, ns, "first", "SinkProvided=True", func(s *v1alpha1.TektonStepSource) bool {
		return conditionIs(s, v1alpha1.TektonStepSourceConditionSinkProvided, corev1.ConditionTrue, "")
	})
	tekton := tektonclient.NewForConfigOrDie(cp.Config)
	sim.MustCreate(t, tekton, ns, "orphan", nil, "a")
	orphan, err := tekton.TektonV1().TaskRuns(ns).Get(ctx, "orphan", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	orphan.Finalizers = []string{adaptercontract.GuardFinalizer(string(uuid.NewUUID()))}
	if _, err := tekton.TektonV1().TaskRuns(ns).Update(ctx, orphan, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForTaskRun(t, tekton, ns, "orphan", "released by the deletion guard", func(f []string, _, _ bool) bool { return len(f) == 0 })
	before := clusterReadsOfPodsAndTaskRuns(t)

	env.createSource(t, ns, newSourceObject("to-pod", duckv1.Destination{Ref: &duckv1.KReference{
		APIVersion: "v1", Kind: "Pod", Name: "x"}}))
	env.createSource(t, ns, newSourceObject("dls-taskrun", uri, func(s *v1alpha1.TektonStepSourceSpec) {
		s.Delivery = &eventingduckv1.DeliverySpec{DeadLetterSink: &duckv1.Destination{Ref: &duckv1.KReference{
			APIVersion: "tekton.dev/v1", Kind: "TaskRun", Name: "y"}}}
	}))
	// Any reason first: the counts are compared once the controller is
	// done with both sources, whatever it did.
	toPod := env.waitForSource(t, ns, "to-pod", "SinkProvided=False", func(s *v1alpha1.TektonStepSource) bool {
		return conditionIs(s, v1alpha1.TektonStepSourceConditionSinkProvided, corev1.ConditionFalse, "")
	})
	dlsTaskRun := env.waitForSource(t, ns, "dls-taskrun", "DeadLetterSinkResolved=False", func(s *v1alpha1.TektonStepSource) bool {
		return conditionIs(s, v1alpha1.TektonStepSourceConditionDeadLetterSinkResolved, corev1.ConditionFalse, "")
	})
	after := clusterReadsOfPodsAndTaskRuns(t)
	// A LIST count only grows; an open WATCH count may drop as an earlier
	// test's controller's watches end, never rise but by a new watch.
	for key, n := range after {
		if n > before[key] {
			t.Errorf("the refused sinks cost the apiserver cluster-wide requests: %s %v -> %v (all: %v -> %v)",
				key, before[key], n, before, after)
		}
	}

	for _, c := range []struct {
		src       *v1alpha1.TektonStepSource
		condition apis.ConditionType
		event     string
		wantMsg   []string
	}{{
		src: toPod, condition: v1alpha1.TektonStepSourceConditionSinkProvided, event: "SinkNotAddressable",
		wantMsg: []string{`spec.sink.ref {"kind":"Pod","namespace":"` + ns + `","name":"x","apiVersion":"v1"} is not accepted: `,
			`only the v1 Service is addressable`, `a ref must name a v1 Service, a triggers.tekton.dev EventListener, an eventing.knative.dev RequestReply, or an object of a kind whose CustomResourceDefinition is labelled duck.knative.dev/addressable="true"`},
	}, {
		src: dlsTaskRun, condition: v1alpha1.TektonStepSourceConditionDeadLetterSinkResolved, event: "DeadLetterSinkNotAddressable",
		wantMsg: []string{`spec.delivery.deadLetterSink.ref {"kind":"TaskRun","namespace":"` + ns + `","name":"y","apiVersion":"tekton.dev/v1"} is not accepted: `,
			`no CustomResourceDefinition taskruns.tekton.dev labelled duck.knative.dev/addressable="true" is installed`,
			`a ref must name a v1 Service`},
	}} {
		cond := c.src.Status.GetCondition(c.condition)
		if cond.Reason != "SinkNotAddressable" {
			t.Errorf("source %s: %s = %+v, want reason SinkNotAddressable", c.src.Name, c.condition, cond)
		}
		event := env.waitForEvent(t, ns, c.src.Name, corev1.EventTypeWarning, c.event)
		for _, want := range c.wantMsg {
			if !strings.Contains(cond.Message, want) || !strings.Contains(event, want) {
				t.Errorf("source %s: %s message %q or %s event %q lacks %q", c.src.Name, c.condition, cond.Message, c.event, event, want)
			}
		}
	}

	// The addressable kinds resolve: a Broker (Knative's CRD carries the
	// label), a core v1 Service and an EventListener (Tekton Triggers' CRD
	// does not).
	if _, err := env.kube.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "display"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	env.createAddressable(t, brokerGVR, "Broker", ns, "default", "http://broker-ingress.knative-eventing.svc.cluster.local/"+ns+"/default")
	env.createAddressable(t, eventListenerGVR, "EventListener", ns, "on-step", "http://el-on-step."+ns+".svc.cluster.local:8080")
	for _, c := range []struct {
		name    string
		ref     duckv1.KReference
		wantURL string
	}{
		{name: "to-broker", ref: duckv1.KReference{APIVersion: "eventing.knative.dev/v1", Kind: "Broker", Name: "default"},
			wantURL: "http://broker-ingress.knative-eventing.svc.cluster.local/" + ns + "/default"},
		{name: "to-service", ref: duckv1.KReference{APIVersion: "v1", Kind: "Service", Name: "display"},
			wantURL: "http://display." + ns + ".svc.cluster.local"},
		{name: "to-listener", ref: duckv1.KReference{APIVersion: "triggers.tekton.dev/v1beta1", Kind: "EventListener", Name: "on-step"},
			wantURL: "http://el-on-step." + ns + ".svc.cluster.local:8080"},
	} {
		ref := c.ref
		env.createSource(t, ns, newSourceObject(c.name, duckv1.Destination{Ref: &ref}))
		got := env.waitForSource(t, ns, c.name, "SinkProvided=True", func(s *v1alpha1.TektonStepSource) bool {
			return conditionIs(s, v1alpha1.TektonStepSourceConditionSinkProvided, corev1.ConditionTrue, "")
		})
		if got.Status.SinkURI.String() != c.wantURL {
			t.Errorf("source %s: sinkUri %s, want %s", c.name, got.Status.SinkURI, c.wantURL)
		}
	}
}

// clusterReadsOfPodsAndTaskRuns is what the apiserver reports of
// cluster-wide reads of pods and TaskRuns: LIST requests served
// (apiserver_request_total, counted when a request ends) and WATCH
// requests open (apiserver_longrunning_requests).
func clusterReadsOfPodsAndTaskRuns(t *testing.T) map[string]float64 {
	t.Helper()
	metrics, err := controlplane.APIServerMetrics(context.Background(), cp.Config,
		"apiserver_request_total", "apiserver_longrunning_requests")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for family, verb := range map[string]string{"apiserver_request_total": "LIST", "apiserver_longrunning_requests": "WATCH"} {
		for _, s := range metrics[family] {
			l := s.Labels
			if l["verb"] != verb || l["scope"] != "cluster" || l["subresource"] != "" {
				continue
			}
			if (l["group"] == "" && l["resource"] == "pods") || (l["group"] == "tekton.dev" && l["resource"] == "taskruns") {
				out[verb+" "+l["resource"]] += s.Value
			}
		}
	}
	return out
}

// TestControllerSinkKindBecomesAddressable: a source whose sink is of a
// kind whose CustomResourceDefinition is not labelled addressable is
// refused; once the label is set (as when Knative is installed after the
// sources), the source is reconciled again, without being touched, and
// its sink resolves.
func TestControllerSinkKindBecomesAddressable(t *testing.T) {
	env := startController(t)
	ns := cp.NewNamespace(t)
	ctx := context.Background()
	crds := apiextensionsclient.NewForConfigOrDie(cp.Config).ApiextensionsV1().CustomResourceDefinitions()

	gvr := schema.GroupVersionResource{Group: "addressable.test.tektonstep.dev", Version: "v1", Resource: "sinks"}
	crdName := gvr.GroupResource().String()
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: crdName},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: gvr.Group,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: gvr.Resource, Kind: "Sink", ListKind: "SinkList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: gvr.Version, Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: ptr.Bool(true)}},
				Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
			}},
		},
	}
	if _, err := crds.Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = crds.Delete(context.Background(), crdName, metav1.DeleteOptions{}) })
	// What the kind's owner ships for Knative's resolvers, aggregated into
	// the controller's addressable-resolver ClusterRole.
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "test-sinks-addressable-resolver", Labels: map[string]string{"duck.knative.dev/addressable": "true"}},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{gvr.Group}, Resources: []string{gvr.Resource}, Verbs: []string{"get", "list", "watch"}}},
	}
	if _, err := env.kube.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.kube.RbacV1().ClusterRoles().Delete(context.Background(), role.Name, metav1.DeleteOptions{})
	})
	if err := controlplane.AggregateClusterRoles(ctx, cp.Config); err != nil {
		t.Fatal(err)
	}
	// The kind is served once its CRD is established.
	if err := poll(ctx, func(ctx context.Context) (bool, error) {
		got, err := crds.Get(ctx, crdName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range got.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	}); err != nil {
		t.Fatalf("CRD %s not established: %v", crdName, err)
	}
	url := "http://sink." + ns + ".svc.cluster.local"
	env.createAddressable(t, gvr, "Sink", ns, "s", url)

	src := env.createSource(t, ns, newSourceObject("to-sink", duckv1.Destination{Ref: &duckv1.KReference{
		APIVersion: gvr.GroupVersion().String(), Kind: "Sink", Name: "s"}}))
	got := env.waitForSource(t, ns, src.Name, "SinkProvided=False/SinkNotAddressable", func(s *v1alpha1.TektonStepSource) bool {
		return conditionIs(s, v1alpha1.TektonStepSourceConditionSinkProvided, corev1.ConditionFalse, "SinkNotAddressable")
	})
	want := fmt.Sprintf("no CustomResourceDefinition %s labelled duck.knative.dev/addressable=\"true\" is installed", crdName)
	if msg := got.Status.GetCondition(v1alpha1.TektonStepSourceConditionSinkProvided).Message; !strings.Contains(msg, want) {
		t.Errorf("SinkProvided message %q lacks %q", msg, want)
	}

	if _, err := crds.Patch(ctx, crdName, types.MergePatchType,
		[]byte(`{"metadata":{"labels":{"duck.knative.dev/addressable":"true"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	got = env.waitForSource(t, ns, src.Name, "SinkProvided=True", func(s *v1alpha1.TektonStepSource) bool {
		return conditionIs(s, v1alpha1.TektonStepSourceConditionSinkProvided, corev1.ConditionTrue, "")
	})
	if diff := cmp.Diff([]interface{}{src.Generation, url}, []interface{}{got.Generation, got.Status.SinkURI.String()}); diff != "" {
		t.Errorf("generation and sinkUri (-want +got):\n%s", diff)
	}
}
