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
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/cache"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	fakedynamicclient "knative.dev/pkg/injection/clients/dynamicclient/fake"
	logtesting "knative.dev/pkg/logging/testing"
	"knative.dev/pkg/ptr"
	"knative.dev/pkg/tracker"

	. "github.com/tektonstep/tekton-step-source/pkg/reconciler/testing"
)

// labelledCRDs are the addressable CustomResourceDefinitions of the unit
// tests' cluster: Knative Eventing's and Serving's, which Knative labels.
var labelledCRDs = sets.New("brokers.eventing.knative.dev", "inmemorychannels.messaging.knative.dev",
	"services.serving.knative.dev")

func TestAddressableKind(t *testing.T) {
	rows := []struct {
		name       string
		apiVersion string
		kind       string
		// wantWhy is empty when the kind is accepted.
		wantWhy string
	}{
		{name: "core Service", apiVersion: "v1", kind: "Service"},
		{name: "Broker (labelled CRD)", apiVersion: "eventing.knative.dev/v1", kind: "Broker"},
		{name: "InMemoryChannel (labelled CRD)", apiVersion: "messaging.knative.dev/v1", kind: "InMemoryChannel"},
		{name: "Knative Service (labelled CRD)", apiVersion: "serving.knative.dev/v1", kind: "Service"},
		{name: "EventListener (unlabelled CRD, accepted by name)", apiVersion: "triggers.tekton.dev/v1beta1", kind: "EventListener"},
		{name: "EventListener of another version", apiVersion: "triggers.tekton.dev/v1alpha1", kind: "EventListener"},
		{name: "RequestReply (unlabelled CRD, accepted by name)", apiVersion: "eventing.knative.dev/v1alpha1", kind: "RequestReply"},
		// The resolver lists the resource it guesses from the kind: a
		// lower-case kind guesses the same labelled resource.
		{name: "lower-case kind of a labelled CRD", apiVersion: "eventing.knative.dev/v1", kind: "broker"},
		{name: "Pod", apiVersion: "v1", kind: "Pod",
			wantWhy: `kind "Pod" of apiVersion "v1" is a core kind, and of these only the v1 Service is addressable`},
		{name: "Secret", apiVersion: "v1", kind: "Secret",
			wantWhy: `kind "Secret" of apiVersion "v1" is a core kind, and of these only the v1 Service is addressable`},
		// Knative's resolver addresses a core Service only when spelled so.
		{name: "lower-case core Service", apiVersion: "v1", kind: "service",
			wantWhy: `kind "service" of apiVersion "v1" is a core kind, and of these only the v1 Service is addressable`},
		{name: "no apiVersion", apiVersion: "", kind: "Broker",
			wantWhy: `kind "Broker" of apiVersion "" is a core kind, and of these only the v1 Service is addressable`},
		{name: "unparsable apiVersion", apiVersion: "eventing.knative.dev/v1/x", kind: "Broker",
			wantWhy: `kind "Broker" of apiVersion "" is a core kind, and of these only the v1 Service is addressable`},
		{name: "TaskRun", apiVersion: "tekton.dev/v1", kind: "TaskRun",
			wantWhy: `kind "TaskRun" of apiVersion "tekton.dev/v1" is not addressable: no CustomResourceDefinition ` +
				`taskruns.tekton.dev labelled duck.knative.dev/addressable="true" is installed`},
		{name: "Deployment (built-in group)", apiVersion: "apps/v1", kind: "Deployment",
			wantWhy: `kind "Deployment" of apiVersion "apps/v1" is not addressable: no CustomResourceDefinition ` +
				`deployments.apps labelled duck.knative.dev/addressable="true" is installed`},
		{name: "Knative Trigger (unlabelled CRD)", apiVersion: "eventing.knative.dev/v1", kind: "Trigger",
			wantWhy: `kind "Trigger" of apiVersion "eventing.knative.dev/v1" is not addressable: no CustomResourceDefinition ` +
				`triggers.eventing.knative.dev labelled duck.knative.dev/addressable="true" is installed`},
		{name: "Triggers' Trigger", apiVersion: "triggers.tekton.dev/v1beta1", kind: "Trigger",
			wantWhy: `kind "Trigger" of apiVersion "triggers.tekton.dev/v1beta1" is not addressable: no CustomResourceDefinition ` +
				`triggers.triggers.tekton.dev labelled duck.knative.dev/addressable="true" is installed`},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			ok, why := addressableKind(schema.FromAPIVersionAndKind(row.apiVersion, row.kind), labelledCRDs.Has)
			if ok != (row.wantWhy == "") || why != row.wantWhy {
				t.Errorf("addressableKind = %v, %q; want %v, %q", ok, why, row.wantWhy == "", row.wantWhy)
			}
		})
	}
}

func TestRefusedRefMessage(t *testing.T) {
	ref := duckv1.Destination{Ref: &duckv1.KReference{APIVersion: "v1", Kind: "Pod", Name: "x", Namespace: "ci"}}
	refusal := &notAddressableError{why: "it is not addressable"}
	rows := []struct {
		name    string
		err     error
		field   string
		wantMsg string
	}{
		{name: "no error", err: nil},
		{name: "another error", err: errors.New("failed to get object ci/x: not found")},
		{name: "refusal", err: refusal, field: "spec.sink.ref",
			wantMsg: `spec.sink.ref {"kind":"Pod","namespace":"ci","name":"x","apiVersion":"v1"} is not accepted: ` +
				`it is not addressable; a ref must name a v1 Service, a triggers.tekton.dev EventListener, an eventing.knative.dev RequestReply, or an object ` +
				`of a kind whose CustomResourceDefinition is labelled duck.knative.dev/addressable="true" ` +
				`(Knative's Brokers, Channels and Services)`},
		{name: "wrapped refusal", err: errors.Join(errors.New("resolving"), refusal), field: "spec.delivery.deadLetterSink.ref",
			wantMsg: `spec.delivery.deadLetterSink.ref {"kind":"Pod","namespace":"ci","name":"x","apiVersion":"v1"} ` +
				`is not accepted: it is not addressable; ` + acceptedRefs},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			msg, ok := refusedRefMessage(row.err, row.field, ref)
			if ok != (row.wantMsg != "") || msg != row.wantMsg {
				t.Errorf("refusedRefMessage = %q, %v; want %q", msg, ok, row.wantMsg)
			}
		})
	}
}

// TestSinkResolverRefusesWithoutListing resolves refs with the resolver
// the controller builds, on a fake dynamic client that holds every object
// referred to: a refused kind is neither listed nor watched (the dynamic
// client sees no request at all), an accepted one is.
func TestSinkResolverRefusesWithoutListing(t *testing.T) {
	rows := []struct {
		name       string
		ref        duckv1.KReference
		wantURL    string
		wantRefuse bool
	}{
		{name: "Pod", ref: duckv1.KReference{APIVersion: "v1", Kind: "Pod", Name: "x", Namespace: testNS}, wantRefuse: true},
		{name: "Namespace", ref: duckv1.KReference{APIVersion: "v1", Kind: "Namespace", Name: testNS}, wantRefuse: true},
		{name: "Broker", ref: duckv1.KReference{APIVersion: "eventing.knative.dev/v1", Kind: "Broker", Name: "default", Namespace: testNS},
			wantURL: brokerAddr.URL.String()},
		{name: "core Service", ref: duckv1.KReference{APIVersion: "v1", Kind: "Service", Name: "display", Namespace: testNS},
			wantURL: "http://display.ci.svc.cluster.local"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(logtesting.TestContextWithLogger(t))
			defer cancel()
			objects := []runtime.Object{
				&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: testNS}},
				&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testNS}},
				&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "display", Namespace: testNS}},
				NewBroker("default", testNS, brokerAddr),
			}
			ctx, client := fakedynamicclient.With(ctx, NewScheme(), ToUnstructured(t, objects)...)
			r := newSinkResolver(ctx, tracker.New(func(types.NamespacedName) {}, 0), labelledCRDs.Has)

			ref := row.ref
			addr, err := r.AddressableFromDestinationV1(ctx, duckv1.Destination{Ref: &ref}, newSource())
			if _, refused := refusedRefMessage(err, "spec.sink.ref", duckv1.Destination{Ref: &ref}); refused != row.wantRefuse {
				t.Fatalf("refused = %v (err %v), want %v", refused, err, row.wantRefuse)
			}
			if row.wantRefuse {
				if actions := client.Actions(); len(actions) != 0 {
					t.Errorf("a refused ref made requests: %v", actions)
				}
				return
			}
			if err != nil || addr.URL.String() != row.wantURL {
				t.Errorf("resolved %+v, %v; want %s", addr, err, row.wantURL)
			}
		})
	}
}

// TestSlimAddressable: the resolver's informers keep what resolving reads.
func TestSlimAddressable(t *testing.T) {
	addresses := duckv1.AddressStatus{
		Address:   &duckv1.Addressable{URL: apis.HTTP("a.ci.svc.cluster.local")},
		Addresses: []duckv1.Addressable{{Name: ptr.String("http"), URL: apis.HTTP("a.ci.svc.cluster.local")}},
	}
	typeMeta := metav1.TypeMeta{APIVersion: "eventing.knative.dev/v1", Kind: "Broker"}
	full := &duckv1.AddressableType{
		TypeMeta: typeMeta,
		ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "ci", UID: "u", ResourceVersion: "7", Generation: 3,
			Labels: map[string]string{"l": "v"}, Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{}"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}, Finalizers: []string{"f"}},
		Status: addresses,
	}
	deleted := cache.DeletedFinalStateUnknown{Key: "ci/a", Obj: full}
	rows := []struct {
		name string
		in   interface{}
		want interface{}
	}{
		{name: "an Addressable", in: full, want: &duckv1.AddressableType{TypeMeta: typeMeta,
			ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "ci", UID: "u", ResourceVersion: "7"}, Status: addresses}},
		{name: "anything else is left as is", in: deleted, want: deleted},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			got, err := slimAddressable(row.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(row.want, got); diff != "" {
				t.Errorf("slimAddressable (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNameOnly: the CustomResourceDefinitions' informer keeps their names.
func TestNameOnly(t *testing.T) {
	full := &metav1.PartialObjectMetadata{
		TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadata"},
		ObjectMeta: metav1.ObjectMeta{Name: "brokers.eventing.knative.dev", UID: "u", ResourceVersion: "7",
			Labels: map[string]string{AddressableLabel: "true"}, Annotations: map[string]string{"a": "b"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
	}
	got, err := nameOnly(full)
	if err != nil {
		t.Fatal(err)
	}
	want := &metav1.PartialObjectMetadata{TypeMeta: full.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{Name: "brokers.eventing.knative.dev", UID: "u", ResourceVersion: "7"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("nameOnly (-want +got):\n%s", diff)
	}
}

// TestRefersToCRD: a change of a CustomResourceDefinition's label
// reconciles the sources whose sink or dead-letter sink is of its kind.
func TestRefersToCRD(t *testing.T) {
	broker := duckv1.Destination{Ref: &duckv1.KReference{APIVersion: "eventing.knative.dev/v1", Kind: "Broker", Name: "default"}}
	withDLS := func(dest duckv1.Destination) SourceOption {
		return WithDelivery(&eventingduckv1.DeliverySpec{DeadLetterSink: &dest})
	}
	rows := []struct {
		name string
		obj  interface{}
		crd  string
		want bool
	}{
		{name: "sink of the kind", obj: newSource(WithSink(broker)), crd: "brokers.eventing.knative.dev", want: true},
		{name: "dead-letter sink of the kind", obj: newSource(WithSink(uriSink), withDLS(broker)), crd: "brokers.eventing.knative.dev", want: true},
		{name: "sink of another kind", obj: newSource(WithSink(broker)), crd: "channels.messaging.knative.dev"},
		{name: "URI sink", obj: newSource(WithSink(uriSink)), crd: "brokers.eventing.knative.dev"},
		{name: "not a source", obj: &corev1.Pod{}, crd: "brokers.eventing.knative.dev"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			if got := refersToCRD(row.crd)(row.obj); got != row.want {
				t.Errorf("refersToCRD(%s) = %v, want %v", row.crd, got, row.want)
			}
		})
	}
}

func TestNameOf(t *testing.T) {
	rows := []struct {
		name   string
		obj    interface{}
		want   string
		wantOK bool
	}{
		{name: "object", obj: &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "brokers.eventing.knative.dev"}},
			want: "brokers.eventing.knative.dev", wantOK: true},
		{name: "deleted, key only", obj: cache.DeletedFinalStateUnknown{Key: "brokers.eventing.knative.dev"},
			want: "brokers.eventing.knative.dev", wantOK: true},
		{name: "not an object", obj: "brokers"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			if got, ok := nameOf(row.obj); got != row.want || ok != row.wantOK {
				t.Errorf("nameOf = %q, %v; want %q, %v", got, ok, row.want, row.wantOK)
			}
		})
	}
}
