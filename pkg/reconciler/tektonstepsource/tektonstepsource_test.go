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
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clientgotesting "k8s.io/client-go/testing"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	reconcilersource "knative.dev/eventing/pkg/reconciler/source"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	fakekubeclient "knative.dev/pkg/client/injection/kube/client/fake"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	logtesting "knative.dev/pkg/logging/testing"
	"knative.dev/pkg/ptr"
	. "knative.dev/pkg/reconciler/testing" //nolint:staticcheck // The table test vocabulary, as in Knative.
	"knative.dev/pkg/tracker"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	fakesourcesclient "github.com/tektonstep/tekton-step-source/pkg/client/injection/client/fake"
	tektonstepsourcereconciler "github.com/tektonstep/tekton-step-source/pkg/client/injection/reconciler/sources/v1alpha1/tektonstepsource"
	"github.com/tektonstep/tekton-step-source/pkg/reconciler/tektonstepsource/resources"
	. "github.com/tektonstep/tekton-step-source/pkg/reconciler/testing"
	"github.com/tektonstep/tekton-step-source/test/testca"
)

const (
	image      = "registry.example/receive-adapter@sha256:0123"
	sourceName = "steps"
	sourceUID  = "4d9d2337-7988-43b0-8b80-0dc3a12a0e67"
	testNS     = "ci"
	generation = 2
	adapterSA  = "steps-tektonstep-adapter"
	userSA     = "watcher"
	userName   = "system:serviceaccount:ci:watcher"

	oneNamespaceSource = "/apis/tekton.dev/v1/namespaces/ci/taskruns"
	allTaskRunsSource  = "/apis/tekton.dev/v1/taskruns"
)

var (
	created = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

	brokerRef = duckv1.Destination{Ref: &duckv1.KReference{
		APIVersion: "eventing.knative.dev/v1", Kind: "Broker", Name: "default"}}
	brokerAddr = &duckv1.Addressable{
		Name: ptr.String("http"),
		URL:  apis.HTTP("broker-ingress.knative-eventing.svc.cluster.local"),
	}
	uriSink = duckv1.Destination{URI: apis.HTTP("event-display.ci.svc.cluster.local")}
	uriAddr = &duckv1.Addressable{URL: apis.HTTP("event-display.ci.svc.cluster.local")}
)

// baseOptions are the spec and metadata of the source of most rows.
func baseOptions(sink duckv1.Destination) []SourceOption {
	return []SourceOption{
		WithSourceUID(sourceUID),
		WithSourceGeneration(generation),
		WithSourceCreationTimestamp(created),
		WithSink(sink),
	}
}

func newSource(opts ...SourceOption) *v1alpha1.TektonStepSource {
	return NewTektonStepSource(sourceName, testNS, opts...)
}

// reconciled returns the options for the status a reconcile writes before
// the Deployment's availability: conditions initialized, observed
// generation, watched namespaces and the event attributes.
func reconciled(ceSource string, namespaces ...string) []SourceOption {
	return []SourceOption{
		WithInitConditions,
		WithObservedGeneration(generation),
		WithOIDCDisabled,
		WithStatusNamespaces(namespaces...),
		WithCEAttributes(ceSource),
	}
}

func join(groups ...[]SourceOption) []SourceOption {
	var all []SourceOption
	for _, g := range groups {
		all = append(all, g...)
	}
	return all
}

// makeAdapter is the Deployment the reconciler builds for src; with
// clusterWatch, a namespaceSelector's namespaces are served by one
// cluster-wide watch.
func makeAdapter(t *testing.T, src *v1alpha1.TektonStepSource, sa string, sink *duckv1.Addressable, namespaces []string, all bool, clusterWatch ...bool) *appsv1.Deployment {
	t.Helper()
	src = src.DeepCopy()
	src.SetDefaults(context.Background())
	d, err := resources.MakeReceiveAdapter(&resources.ReceiveAdapterArgs{
		Image:              image,
		Source:             src,
		ServiceAccountName: sa,
		Sink:               sink,
		Namespaces:         namespaces,
		AllNamespaces:      all,
		ClusterWatch:       len(clusterWatch) > 0 && clusterWatch[0],
		Configs:            &reconcilersource.EmptyVarsGenerator{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// sar is the SubjectAccessReview the reconciler asks for one permission.
func sar(ns, verb, group, resource, subresource string) *authorizationv1.SubjectAccessReview {
	return &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   userName,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:ci", "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: ns, Verb: verb, Group: group, Resource: resource, Subresource: subresource,
		},
	}}
}

// sars are the reviews of every permission the adapter needs in ns.
func sars(ns string) []runtime.Object {
	return []runtime.Object{
		sar(ns, "list", "tekton.dev", "taskruns", ""),
		sar(ns, "watch", "tekton.dev", "taskruns", ""),
		sar(ns, "patch", "tekton.dev", "taskruns", ""),
		sar(ns, "get", "", "pods", "log"),
	}
}

// namedSAR is the review of one permission on one object of the source's
// namespace.
func namedSAR(verb, group, resource, name string) *authorizationv1.SubjectAccessReview {
	return namedSubresourceSAR(verb, group, resource, "", name)
}

func namedSubresourceSAR(verb, group, resource, subresource, name string) *authorizationv1.SubjectAccessReview {
	r := sar(testNS, verb, group, resource, subresource)
	r.Spec.ResourceAttributes.Name = name
	return r
}

// journalSARs are the reviews of the adapter's progress journal, which
// every adapter keeps in the source's namespace, and of the source itself
// (its replays); they come first.
func journalSARs() []runtime.Object {
	journal := adaptercontract.JournalName(sourceUID)
	return []runtime.Object{namedSAR("get", "", "configmaps", journal), namedSAR("patch", "", "configmaps", journal),
		namedSAR("list", "sources.knative.dev", "tektonstepsources", sourceName),
		namedSAR("watch", "sources.knative.dev", "tektonstepsources", sourceName),
		namedSubresourceSAR("patch", "sources.knative.dev", "tektonstepsources", "status", sourceName)}
}

// initialized is the status of a reconcile that stopped before the
// permissions were confirmed: no namespaces shown yet.
func initialized() []SourceOption {
	return []SourceOption{WithInitConditions, WithObservedGeneration(generation), WithOIDCDisabled}
}

// userSARs are the reviews for a source with its own account watching
// nsList, in that order (one cluster-wide pass first for several).
func userSARs(nsList ...string) []runtime.Object {
	out := journalSARs()
	for _, ns := range nsList {
		out = append(out, sars(ns)...)
	}
	return out
}

// perNamespaceRefusal is the row of a source whose account, checked in
// each namespace its selector (team exists: a1, a2, b) selects, is refused
// what deny says: the reviews asked, the message, no adapter.
func perNamespaceRefusal(name string, reviews []runtime.Object, message string, deny func(*authorizationv1.ResourceAttributes) bool) TableRow {
	selector := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "team", Operator: metav1.LabelSelectorOpExists}}}
	src := newSource(append(baseOptions(uriSink), WithServiceAccountName(userSA), WithNamespaceSelector(selector))...)
	return TableRow{
		Name:        name,
		Objects:     append(namespaces(), src, userAccount()),
		Key:         testNS + "/" + sourceName,
		WantErr:     true,
		WantCreates: append([]runtime.Object{resources.MakeJournal(src)}, reviews...),
		WantEvents:  []string{Eventf(corev1.EventTypeWarning, ReasonInsufficientPermissions, "%s", message)},
		WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(newSource(join(
			baseOptions(uriSink), []SourceOption{WithServiceAccountName(userSA), WithNamespaceSelector(selector)},
			initialized(),
			[]SourceOption{WithStatusSink(uriAddr), WithDeadLetterSinkNotConfigured, WithNoSufficientPermissions(ReasonInsufficientPermissions, message)})...))},
		WithReactors:            []clientgotesting.ReactionFunc{sarReactor(deny)},
		SkipNamespaceValidation: true,
	}
}

// sarReactor answers SubjectAccessReviews: allowed unless deny says no.
func sarReactor(deny func(*authorizationv1.ResourceAttributes) bool) clientgotesting.ReactionFunc {
	return func(action clientgotesting.Action) (bool, runtime.Object, error) {
		if action.GetVerb() != "create" || action.GetResource().Resource != "subjectaccessreviews" {
			return false, nil, nil
		}
		review := action.(clientgotesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview).DeepCopy()
		review.Status.Allowed = !deny(review.Spec.ResourceAttributes)
		return true, review, nil
	}
}

var allowAll = sarReactor(func(*authorizationv1.ResourceAttributes) bool { return false })

func statusUpdate(src *v1alpha1.TektonStepSource) clientgotesting.UpdateActionImpl {
	return clientgotesting.UpdateActionImpl{Object: src}
}

func TestReconcile(t *testing.T) {
	// A first reconcile of a source without serviceAccountName whose sink
	// resolves: per-source ServiceAccount and RoleBinding, the Deployment,
	// and a status waiting for the Deployment to become available.
	firstReconcile := func(name string, sink duckv1.Destination, addr *duckv1.Addressable, sinkObjects ...runtime.Object) TableRow {
		src := newSource(baseOptions(sink)...)
		ra := makeAdapter(t, src, adapterSA, addr, []string{testNS}, false)
		return TableRow{
			Name:    name,
			Objects: append([]runtime.Object{src}, sinkObjects...),
			Key:     testNS + "/" + sourceName,
			WantCreates: []runtime.Object{
				resources.MakeJournal(src),
				resources.MakeServiceAccount(src),
				resources.MakeRole(src, nil),
				resources.MakeRoleBinding(src),
				ra,
			},
			WantErr: true, // the requeue after ResyncInterval
			WantEvents: []string{
				Eventf(corev1.EventTypeNormal, ReasonDeploymentCreated, `Deployment "steps-tektonstep-adapter" created`),
			},
			WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(newSource(join(baseOptions(sink),
				reconciled(oneNamespaceSource, testNS),
				[]SourceOption{WithStatusSink(addr), WithDeadLetterSinkNotConfigured, WithSufficientPermissions, WithDeploymentStatus(ra)})...))},
		}
	}

	channelAddr := &duckv1.Addressable{URL: apis.HTTP("events-kn-channel.ci.svc.cluster.local")}
	// Validation parses sink CA certs: any valid PEM certificate does.
	caCerts, audience := testca.New(t).PEM(), "sink-audience"
	tlsSink := duckv1.Destination{URI: apis.HTTPS("event-display.ci.svc.cluster.local"), CACerts: &caCerts, Audience: &audience}
	tlsAddr := &duckv1.Addressable{URL: apis.HTTPS("event-display.ci.svc.cluster.local"), CACerts: &caCerts, Audience: &audience}

	readySource := func(sink duckv1.Destination, addr *duckv1.Addressable, ra *appsv1.Deployment, more ...SourceOption) *v1alpha1.TektonStepSource {
		return newSource(join(baseOptions(sink), more,
			reconciled(oneNamespaceSource, testNS),
			[]SourceOption{WithStatusSink(addr), WithDeadLetterSinkNotConfigured, WithSufficientPermissions, WithDeploymentStatus(ra)})...)
	}
	src := newSource(baseOptions(brokerRef)...)
	available := WithDeploymentAvailable(makeAdapter(t, src, adapterSA, brokerAddr, []string{testNS}, false))

	// A source with spec.delivery and a Knative Service as dead-letter sink.
	dlsRef := &duckv1.Destination{Ref: &duckv1.KReference{APIVersion: "serving.knative.dev/v1", Kind: "Service", Name: "dls", Namespace: testNS}}
	dlsAddr := &duckv1.Addressable{URL: apis.HTTP("dls.ci.svc.cluster.local")}
	withDelivery := WithDelivery(&eventingduckv1.DeliverySpec{DeadLetterSink: dlsRef, Retry: ptr.Int32(3), Timeout: ptr.String("PT2.5S")})
	dlsSource := newSource(append(baseOptions(brokerRef), withDelivery)...)
	dlsAdapter := makeAdapter(t, newSource(append(baseOptions(brokerRef), withDelivery, WithStatusDeadLetterSink(dlsAddr))...),
		adapterSA, brokerAddr, []string{testNS}, false)

	// Refs of kinds that cannot be addressable, refused before any lookup.
	podRef := duckv1.Destination{Ref: &duckv1.KReference{APIVersion: "v1", Kind: "Pod", Name: "x"}}
	podRefused := `spec.sink.ref {"kind":"Pod","namespace":"ci","name":"x","apiVersion":"v1"} is not accepted: ` +
		`kind "Pod" of apiVersion "v1" is a core kind, and of these only the v1 Service is addressable; ` + acceptedRefs
	withTaskRunDLS := WithDelivery(&eventingduckv1.DeliverySpec{DeadLetterSink: &duckv1.Destination{Ref: &duckv1.KReference{
		APIVersion: "tekton.dev/v1", Kind: "TaskRun", Name: "y", Namespace: testNS}}})
	taskRunDLSSource := newSource(append(baseOptions(brokerRef), withTaskRunDLS)...)
	taskRunRefused := `spec.delivery.deadLetterSink.ref {"kind":"TaskRun","namespace":"ci","name":"y","apiVersion":"tekton.dev/v1"} ` +
		`is not accepted: kind "TaskRun" of apiVersion "tekton.dev/v1" is not addressable: no CustomResourceDefinition ` +
		`taskruns.tekton.dev labelled duck.knative.dev/addressable="true" is installed; ` + acceptedRefs

	// A source of three replicas with its own account, and its Leases.
	replicated := newSource(append(baseOptions(uriSink), WithServiceAccountName(userSA), WithReplicas(3))...)
	lease := func(i int) string { return fmt.Sprintf("tekton-step-source-adapter.steps.%02d-of-03", i) }
	leasesDenied := `Service account "watcher" cannot update leases.coordination.k8s.io ` + lease(0) + ` in namespace "ci"; ` +
		`update leases.coordination.k8s.io ` + lease(1) + ` in namespace "ci"; update leases.coordination.k8s.io ` + lease(2) + ` in namespace "ci"`

	table := TableTest{{
		Name: "bad workqueue key",
		Key:  "too/many/parts",
	}, {
		Name: "key not found",
		Key:  "foo/not-found",
	}, {
		// No finalizer: the source's objects are owned by it and garbage
		// collected; the reconciler has nothing to do.
		Name:    "source being deleted",
		Objects: []runtime.Object{newSource(append(baseOptions(brokerRef), WithSourceDeleted)...)},
		Key:     testNS + "/" + sourceName,
	}, {
		Name: "invalid spec: not deployed, permanent error",
		Objects: []runtime.Object{newSource(append(baseOptions(uriSink),
			WithFilters(eventingv1.SubscriptionsAPIFilter{CESQL: "type = = 'x'"}))...)},
		Key:     testNS + "/" + sourceName,
		WantErr: true,
		WantEvents: []string{
			Eventf(corev1.EventTypeWarning, ReasonInvalidSpec, "Invalid spec: %s", invalidCESQLMessage(t)),
		},
		WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(newSource(append(baseOptions(uriSink),
			WithFilters(eventingv1.SubscriptionsAPIFilter{CESQL: "type = = 'x'"}),
			WithInitConditions, WithObservedGeneration(generation), WithOIDCDisabled,
			WithReadyFalse(ReasonInvalidSpec, "Invalid spec: "+invalidCESQLMessage(t)))...))},
	}, {
		// Validation refuses such a spec; an addressable's status is its
		// owner's.
		Name: "sink whose address has CA certificates that do not parse: refused",
		Objects: []runtime.Object{newSource(baseOptions(brokerRef)...), NewBroker("default", testNS,
			&duckv1.Addressable{URL: apis.HTTPS("broker-ingress.knative-eventing.svc.cluster.local"), CACerts: ptr.String("not PEM")})},
		Key:     testNS + "/" + sourceName,
		WantErr: true,
		WantEvents: []string{
			Eventf(corev1.EventTypeWarning, ReasonInvalidCACerts, `Sink {"ref":{"kind":"Broker","namespace":"ci","name":"default",`+
				`"apiVersion":"eventing.knative.dev/v1"}} resolved to CA certificates in which no PEM certificate parses (7 bytes): `+
				`no TLS connection to it could be verified`),
		},
		WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(newSource(join(baseOptions(brokerRef),
			initialized(),
			[]SourceOption{WithStatusNoSink(ReasonInvalidCACerts, `Sink {"ref":{"kind":"Broker","namespace":"ci","name":"default",`+
				`"apiVersion":"eventing.knative.dev/v1"}} resolved to CA certificates in which no PEM certificate parses (7 bytes): `+
				`no TLS connection to it could be verified`)})...))},
	}, {
		Name:    "sink not found",
		Objects: []runtime.Object{newSource(baseOptions(brokerRef)...)},
		Key:     testNS + "/" + sourceName,
		WantErr: true,
		WantEvents: []string{
			Eventf(corev1.EventTypeWarning, ReasonSinkNotFound,
				`Sink {"ref":{"kind":"Broker","namespace":"ci","name":"default","apiVersion":"eventing.knative.dev/v1"}} not found: `+
					`failed to get object ci/default: brokers.eventing.knative.dev "default" not found`),
		},
		WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(newSource(join(baseOptions(brokerRef),
			initialized(),
			[]SourceOption{WithStatusNoSink(ReasonNotFound,
				`Sink {"ref":{"kind":"Broker","namespace":"ci","name":"default","apiVersion":"eventing.knative.dev/v1"}} not resolved: `+
					`failed to get object ci/default: brokers.eventing.knative.dev "default" not found`)})...))},
	}, {
		Name: "delivery: the dead-letter sink resolved into the status and the adapter's configuration",
		Objects: []runtime.Object{dlsSource, NewBroker("default", testNS, brokerAddr),
			NewServingService("dls", testNS, "http://dls.ci.svc.cluster.local")},
		Key: testNS + "/" + sourceName,
		WantCreates: []runtime.Object{resources.MakeJournal(dlsSource), resources.MakeServiceAccount(dlsSource),
			resources.MakeRole(dlsSource, nil), resources.MakeRoleBinding(dlsSource), dlsAdapter},
		WantErr: true, // the requeue after ResyncInterval
		WantEvents: []string{
			Eventf(corev1.EventTypeNormal, ReasonDeploymentCreated, `Deployment "steps-tektonstep-adapter" created`),
		},
		WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(newSource(join(baseOptions(brokerRef),
			[]SourceOption{withDelivery}, reconciled(oneNamespaceSource, testNS),
			[]SourceOption{WithStatusSink(brokerAddr), WithStatusDeadLetterSink(dlsAddr), WithSufficientPermissions,
				WithDeploymentStatus(dlsAdapter)})...))},
	}, {
		Name:    "delivery: dead-letter sink not found, nothing deployed",
		Objects: []runtime.Object{dlsSource, NewBroker("default", testNS, brokerAddr)},
		Key:     testNS + "/" + sourceName,
		WantErr: true,
		WantEvents: []string{
			Eventf(corev1.EventTypeWarning, ReasonDeadLetterSinkNotFound,
				`Dead-letter sink {"ref":{"kind":"Service","namespace":"ci","name":"dls","apiVersion":"serving.knative.dev/v1"}} not found: `+
					`failed to get object ci/dls: services.serving.knative.dev "dls" not found`),
		},
		WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(newSource(join(baseOptions(brokerRef),
			[]SourceOption{withDelivery}, initialized(),
			[]SourceOption{WithStatusSink(brokerAddr), WithStatusNoDeadLetterSink(ReasonNotFound,
				`Dead-letter sink {"ref":{"kind":"Service","namespace":"ci","name":"dls","apiVersion":"serving.knative.dev/v1"}} not resolved: `+
					`failed to get object ci/dls: services.serving.knative.dev "dls" not found`)})...))},
	}, {
		Name:    "sink not addressable yet",
		Objects: []runtime.Object{newSource(baseOptions(brokerRef)...), NewBroker("default", testNS, nil)},
		Key:     testNS + "/" + sourceName,
		WantErr: true,
		WantEvents: []string{
			Eventf(corev1.EventTypeWarning, ReasonSinkNotFound,
				`Sink {"ref":{"kind":"Broker","namespace":"ci","name":"default","apiVersion":"eventing.knative.dev/v1"}} not found: `+
					`address not set for Kind = Broker, Namespace = ci, Name = default, APIVersion = eventing.knative.dev/v1, Group = , Address = `),
		},
		WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(newSource(join(baseOptions(brokerRef),
			initialized(),
			[]SourceOption{WithStatusNoSink(ReasonNotFound,
				`Sink {"ref":{"kind":"Broker","namespace":"ci","name":"default","apiVersion":"eventing.knative.dev/v1"}} not resolved: `+
					`address not set for Kind = Broker, Namespace = ci, Name = default, APIVersion = eventing.knative.dev/v1, Group = , Address = `)})...))},
	}, {
		Name: "sink in another namespace is not looked up in the source's",
		Objects: []runtime.Object{
			newSource(baseOptions(duckv1.Destination{Ref: &duckv1.KReference{
				APIVersion: "eventing.knative.dev/v1", Kind: "Broker", Name: "default", Namespace: "other"}})...),
			NewBroker("default", testNS, brokerAddr),
		},
		Key:     testNS + "/" + sourceName,
		WantErr: true,
		WantEvents: []string{
			Eventf(corev1.EventTypeWarning, ReasonSinkNotFound,
				`Sink {"ref":{"kind":"Broker","namespace":"other","name":"default","apiVersion":"eventing.knative.dev/v1"}} not found: `+
					`failed to get object other/default: brokers.eventing.knative.dev "default" not found`),
		},
		WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(newSource(join(baseOptions(duckv1.Destination{Ref: &duckv1.KReference{
			APIVersion: "eventing.knative.dev/v1", Kind: "Broker", Name: "default", Namespace: "other"}}),
			initialized(),
			[]SourceOption{WithStatusNoSink(ReasonNotFound,
				`Sink {"ref":{"kind":"Broker","namespace":"other","name":"default","apiVersion":"eventing.knative.dev/v1"}} not resolved: `+
					`failed to get object other/default: brokers.eventing.knative.dev "default" not found`)})...))},
	},
		firstReconcile("sink: Broker", brokerRef, brokerAddr, NewBroker("default", testNS, brokerAddr)),
		firstReconcile("sink: core v1 Service",
			duckv1.Destination{Ref: &duckv1.KReference{APIVersion: "v1", Kind: "Service", Name: "display"}},
			&duckv1.Addressable{URL: apis.HTTP("display.ci.svc.cluster.local")},
			&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "display", Namespace: testNS}}),
		{
			Name:    "sink: a Pod is refused",
			Objects: []runtime.Object{newSource(baseOptions(podRef)...), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: testNS}}},
			Key:     testNS + "/" + sourceName,
			WantErr: true,
			WantEvents: []string{
				Eventf(corev1.EventTypeWarning, ReasonSinkNotAddressable, "%s", podRefused),
			},
			WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(newSource(join(baseOptions(podRef),
				initialized(), []SourceOption{WithStatusNoSink(ReasonSinkNotAddressable, podRefused)})...))},
		}, {
			Name:    "delivery: a TaskRun dead-letter sink is refused, nothing deployed",
			Objects: []runtime.Object{taskRunDLSSource, NewBroker("default", testNS, brokerAddr)},
			Key:     testNS + "/" + sourceName,
			WantErr: true,
			WantEvents: []string{
				Eventf(corev1.EventTypeWarning, ReasonDeadLetterSinkNotAddressable, "%s", taskRunRefused),
			},
			WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(newSource(join(baseOptions(brokerRef),
				[]SourceOption{withTaskRunDLS}, initialized(),
				[]SourceOption{WithStatusSink(brokerAddr), WithStatusNoDeadLetterSink(ReasonSinkNotAddressable, taskRunRefused)})...))},
		},
		firstReconcile("sink: InMemoryChannel",
			duckv1.Destination{Ref: &duckv1.KReference{APIVersion: "messaging.knative.dev/v1", Kind: "InMemoryChannel", Name: "events"}},
			channelAddr, NewInMemoryChannel("events", testNS, channelAddr)),
		firstReconcile("sink: Knative Service",
			duckv1.Destination{Ref: &duckv1.KReference{APIVersion: "serving.knative.dev/v1", Kind: "Service", Name: "display"}},
			&duckv1.Addressable{URL: apis.HTTP("display.ci.svc.cluster.local")},
			NewServingService("display", testNS, "http://display.ci.svc.cluster.local")),
		firstReconcile("sink: Tekton Triggers EventListener",
			duckv1.Destination{Ref: &duckv1.KReference{APIVersion: "triggers.tekton.dev/v1beta1", Kind: "EventListener", Name: "on-step"}},
			&duckv1.Addressable{URL: &apis.URL{Scheme: "http", Host: "el-on-step.ci.svc.cluster.local:8080"}},
			NewEventListener("on-step", testNS, "http://el-on-step.ci.svc.cluster.local:8080")),
		firstReconcile("sink: URI", uriSink, uriAddr),
		firstReconcile("sink: ref and relative URI",
			duckv1.Destination{Ref: brokerRef.Ref, URI: &apis.URL{Path: "/steps"}},
			&duckv1.Addressable{Name: ptr.String("http"),
				URL: &apis.URL{Scheme: "http", Host: "broker-ingress.knative-eventing.svc.cluster.local", Path: "/steps"}},
			NewBroker("default", testNS, brokerAddr)),
		firstReconcile("sink with CA certificates and audience", tlsSink, tlsAddr),
		{
			Name: "adapter available: Ready",
			Objects: []runtime.Object{
				newSource(baseOptions(brokerRef)...), NewBroker("default", testNS, brokerAddr),
				resources.MakeServiceAccount(src), resources.MakeRole(src, nil), resources.MakeRoleBinding(src), available,
			},
			Key:               testNS + "/" + sourceName,
			WantCreates:       []runtime.Object{resources.MakeJournal(src)},
			WantErr:           true, // the requeue after ResyncInterval
			WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(readySource(brokerRef, brokerAddr, available))},
		}, {
			// What a first reconcile created, reconciled again: nothing
			// changes (the journal's create is answered AlreadyExists).
			Name: "second reconcile changes nothing",
			Objects: []runtime.Object{
				readySource(brokerRef, brokerAddr, available), NewBroker("default", testNS, brokerAddr),
				resources.MakeServiceAccount(src), resources.MakeRole(src, nil), resources.MakeRoleBinding(src), available,
				resources.MakeJournal(src),
			},
			Key:         testNS + "/" + sourceName,
			WantCreates: []runtime.Object{resources.MakeJournal(src)},
			WantErr:     true, // the requeue after ResyncInterval
		}, {
			Name: "sink address changed: Deployment updated",
			Objects: []runtime.Object{
				readySource(brokerRef, brokerAddr, available),
				NewBroker("default", testNS, &duckv1.Addressable{URL: apis.HTTP("new-ingress.knative-eventing.svc.cluster.local")}),
				resources.MakeServiceAccount(src), resources.MakeRole(src, nil), resources.MakeRoleBinding(src), available,
			},
			Key:         testNS + "/" + sourceName,
			WantCreates: []runtime.Object{resources.MakeJournal(src)},
			WantErr:     true, // the requeue after ResyncInterval
			WantUpdates: []clientgotesting.UpdateActionImpl{{Object: withStatusOf(available, makeAdapter(t, src, adapterSA,
				&duckv1.Addressable{URL: apis.HTTP("new-ingress.knative-eventing.svc.cluster.local")}, []string{testNS}, false))}},
			WantEvents: []string{
				Eventf(corev1.EventTypeNormal, ReasonDeploymentUpdated, `Deployment "steps-tektonstep-adapter" updated`),
			},
			WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(readySource(brokerRef,
				&duckv1.Addressable{URL: apis.HTTP("new-ingress.knative-eventing.svc.cluster.local")}, available))},
		}, {
			Name: "Deployment drifted (image, extra env): updated",
			Objects: []runtime.Object{
				readySource(brokerRef, brokerAddr, available), NewBroker("default", testNS, brokerAddr),
				resources.MakeServiceAccount(src), resources.MakeRole(src, nil), resources.MakeRoleBinding(src),
				drifted(available),
			},
			Key:         testNS + "/" + sourceName,
			WantCreates: []runtime.Object{resources.MakeJournal(src)},
			WantErr:     true, // the requeue after ResyncInterval
			WantUpdates: []clientgotesting.UpdateActionImpl{{Object: withStatusOf(available, available)}},
			WantEvents: []string{
				Eventf(corev1.EventTypeNormal, ReasonDeploymentUpdated, `Deployment "steps-tektonstep-adapter" updated`),
			},
		}, {
			Name: "Deployment of the same name owned by someone else",
			Objects: []runtime.Object{
				newSource(baseOptions(uriSink)...),
				resources.MakeServiceAccount(src), resources.MakeRole(src, nil), resources.MakeRoleBinding(src),
				notOwned(makeAdapter(t, src, adapterSA, uriAddr, []string{testNS}, false)),
			},
			Key:         testNS + "/" + sourceName,
			WantErr:     true,
			WantCreates: []runtime.Object{resources.MakeJournal(src)},
			WantEvents: []string{
				Eventf(corev1.EventTypeWarning, "InternalError", `deployment "steps-tektonstep-adapter" is not owned by TektonStepSource "steps"`),
			},
			WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(newSource(join(baseOptions(uriSink),
				reconciled(oneNamespaceSource, testNS),
				[]SourceOption{WithStatusSink(uriAddr), WithDeadLetterSinkNotConfigured, WithSufficientPermissions,
					WithNotDeployed("DeploymentNotOwned", `Deployment "steps-tektonstep-adapter" exists and is not owned by this source`)})...))},
		}, {
			Name: "ServiceAccount of the same name owned by someone else",
			Objects: []runtime.Object{
				newSource(baseOptions(uriSink)...),
				notOwned(resources.MakeServiceAccount(src)),
			},
			Key:         testNS + "/" + sourceName,
			WantErr:     true,
			WantCreates: []runtime.Object{resources.MakeJournal(src)},
			WantEvents: []string{
				Eventf(corev1.EventTypeWarning, "InternalError", `service account "steps-tektonstep-adapter" is not owned by TektonStepSource "steps"`),
			},
			WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(newSource(join(baseOptions(uriSink),
				initialized(),
				[]SourceOption{WithStatusSink(uriAddr), WithDeadLetterSinkNotConfigured,
					WithNoSufficientPermissions("ServiceAccountNotOwned", `Service account "steps-tektonstep-adapter" exists and is not owned by this source`)})...))},
		}, {
			Name: "RoleBinding to another role: replaced",
			Objects: []runtime.Object{
				readySource(brokerRef, brokerAddr, available), NewBroker("default", testNS, brokerAddr),
				resources.MakeServiceAccount(src), resources.MakeRole(src, nil), withRoleRef(resources.MakeRoleBinding(src), "admin"), available,
			},
			Key:         testNS + "/" + sourceName,
			WantDeletes: []clientgotesting.DeleteActionImpl{deleteAction("rolebindings", adapterSA)},
			WantCreates: []runtime.Object{resources.MakeJournal(src), resources.MakeRoleBinding(src)},
			WantErr:     true, // the requeue after ResyncInterval
		}, {
			Name: "RoleBinding with other subjects: updated",
			Objects: []runtime.Object{
				readySource(brokerRef, brokerAddr, available), NewBroker("default", testNS, brokerAddr),
				resources.MakeServiceAccount(src), resources.MakeRole(src, nil), withSubjects(resources.MakeRoleBinding(src), rbacv1.Subject{Kind: "Group", Name: "system:authenticated"}), available,
			},
			Key:         testNS + "/" + sourceName,
			WantCreates: []runtime.Object{resources.MakeJournal(src)},
			WantErr:     true, // the requeue after ResyncInterval
			WantUpdates: []clientgotesting.UpdateActionImpl{{Object: resources.MakeRoleBinding(src)}},
		}, {
			Name:    "serviceAccountName: allowed, nothing granted",
			Objects: []runtime.Object{newSource(append(baseOptions(uriSink), WithServiceAccountName(userSA))...)},
			Key:     testNS + "/" + sourceName,
			WantErr: true, // the requeue after ResyncInterval
			WantCreates: append(append([]runtime.Object{resources.MakeJournal(src)}, userSARs(testNS)...),
				makeAdapter(t, newSource(append(baseOptions(uriSink), WithServiceAccountName(userSA))...), userSA, uriAddr, []string{testNS}, false)),
			WantEvents: []string{
				Eventf(corev1.EventTypeNormal, ReasonDeploymentCreated, `Deployment "steps-tektonstep-adapter" created`),
			},
			WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(newSource(join(
				baseOptions(uriSink), []SourceOption{WithServiceAccountName(userSA)},
				reconciled(oneNamespaceSource, testNS),
				[]SourceOption{WithStatusSink(uriAddr), WithDeadLetterSinkNotConfigured, WithSufficientPermissions,
					WithDeploymentStatus(makeAdapter(t, src, userSA, uriAddr, []string{testNS}, false))})...))},
			WithReactors:            []clientgotesting.ReactionFunc{allowAll},
			SkipNamespaceValidation: true, // SubjectAccessReviews are cluster-scoped.
		}, {
			// Once shown, the namespaces are no longer: a revoked grant or a
			// made-up account must not list them.
			Name: "serviceAccountName: missing permissions listed, namespaces hidden, not deployed, rechecked",
			Objects: []runtime.Object{newSource(join(baseOptions(uriSink), []SourceOption{WithServiceAccountName(userSA)},
				reconciled(oneNamespaceSource, testNS))...), userAccount()},
			Key:         testNS + "/" + sourceName,
			WantErr:     true, // the requeue after PermissionRecheckInterval
			WantCreates: append([]runtime.Object{resources.MakeJournal(src)}, userSARs(testNS)...),
			WantEvents: []string{
				Eventf(corev1.EventTypeWarning, ReasonInsufficientPermissions,
					`Service account "watcher" cannot list, watch taskruns.tekton.dev in namespace "ci"; get pods/log in namespace "ci"`),
			},
			WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(newSource(join(
				baseOptions(uriSink), []SourceOption{WithServiceAccountName(userSA)},
				initialized(),
				[]SourceOption{WithStatusSink(uriAddr), WithDeadLetterSinkNotConfigured, WithNoSufficientPermissions(ReasonInsufficientPermissions,
					`Service account "watcher" cannot list, watch taskruns.tekton.dev in namespace "ci"; get pods/log in namespace "ci"`)})...))},
			WithReactors: []clientgotesting.ReactionFunc{sarReactor(func(a *authorizationv1.ResourceAttributes) bool {
				return a.Group == "tekton.dev" && (a.Verb == "list" || a.Verb == "watch") || a.Subresource == "log"
			})},
			SkipNamespaceValidation: true,
		}, {
			// An account that does not exist: the status says so, not the
			// list of what it may not do.
			Name:        "serviceAccountName that does not exist: said so",
			Objects:     []runtime.Object{newSource(append(baseOptions(uriSink), WithServiceAccountName(userSA))...)},
			Key:         testNS + "/" + sourceName,
			WantErr:     true, // the requeue after PermissionRecheckInterval
			WantCreates: append([]runtime.Object{resources.MakeJournal(src)}, userSARs(testNS)...),
			WantEvents: []string{
				Eventf(corev1.EventTypeWarning, ReasonServiceAccountNotFound, "%s", missingAccount),
			},
			WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(newSource(join(
				baseOptions(uriSink), []SourceOption{WithServiceAccountName(userSA)},
				initialized(),
				[]SourceOption{WithStatusSink(uriAddr), WithDeadLetterSinkNotConfigured,
					WithNoSufficientPermissions(ReasonServiceAccountNotFound, missingAccount)})...))},
			WithReactors:            []clientgotesting.ReactionFunc{sarReactor(func(*authorizationv1.ResourceAttributes) bool { return true })},
			SkipNamespaceValidation: true,
		}, {
			Name:    "replicas: the account must also take the buckets' Leases, by name",
			Objects: []runtime.Object{replicated, userAccount()},
			Key:     testNS + "/" + sourceName,
			WantErr: true, // the requeue after PermissionRecheckInterval
			WantCreates: append(append(append(leaseCreates(replicated), journalSARs()...),
				namedSAR("get", "coordination.k8s.io", "leases", lease(0)), namedSAR("update", "coordination.k8s.io", "leases", lease(0)),
				namedSAR("get", "coordination.k8s.io", "leases", lease(1)), namedSAR("update", "coordination.k8s.io", "leases", lease(1)),
				namedSAR("get", "coordination.k8s.io", "leases", lease(2)), namedSAR("update", "coordination.k8s.io", "leases", lease(2)),
			), sars(testNS)...),
			WantEvents: []string{
				Eventf(corev1.EventTypeWarning, ReasonInsufficientPermissions, "%s", leasesDenied),
			},
			WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(newSource(join(
				baseOptions(uriSink), []SourceOption{WithServiceAccountName(userSA), WithReplicas(3)},
				initialized(),
				[]SourceOption{WithStatusSink(uriAddr), WithDeadLetterSinkNotConfigured, WithNoSufficientPermissions(ReasonInsufficientPermissions,
					leasesDenied)})...))},
			WithReactors: []clientgotesting.ReactionFunc{sarReactor(func(a *authorizationv1.ResourceAttributes) bool {
				return a.Resource == "leases" && a.Verb != "get"
			})},
			SkipNamespaceValidation: true,
		}, {
			Name: "switched to serviceAccountName: the per-source account and binding are revoked",
			Objects: []runtime.Object{
				newSource(append(baseOptions(brokerRef), WithServiceAccountName(userSA))...), NewBroker("default", testNS, brokerAddr),
				resources.MakeServiceAccount(src), resources.MakeRole(src, nil), resources.MakeRoleBinding(src), available,
			},
			Key:     testNS + "/" + sourceName,
			WantErr: true, // the requeue after ResyncInterval
			WantDeletes: []clientgotesting.DeleteActionImpl{
				deleteAction("rolebindings", adapterSA), deleteAction("roles", adapterSA), deleteAction("serviceaccounts", adapterSA),
			},
			WantCreates: append([]runtime.Object{resources.MakeJournal(src)}, userSARs(testNS)...),
			WantUpdates: []clientgotesting.UpdateActionImpl{{Object: withStatusOf(available,
				makeAdapter(t, src, userSA, brokerAddr, []string{testNS}, false))}},
			WantEvents: []string{
				Eventf(corev1.EventTypeNormal, ReasonDeploymentUpdated, `Deployment "steps-tektonstep-adapter" updated`),
			},
			WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(newSource(join(
				baseOptions(brokerRef), []SourceOption{WithServiceAccountName(userSA)},
				reconciled(oneNamespaceSource, testNS),
				[]SourceOption{WithStatusSink(brokerAddr), WithDeadLetterSinkNotConfigured, WithSufficientPermissions, WithDeploymentStatus(available)})...))},
			WithReactors:            []clientgotesting.ReactionFunc{allowAll},
			SkipNamespaceValidation: true,
		},
		namespaceSelectorRow(t, "namespaceSelector: the matching namespaces, granted cluster-wide",
			&metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}, nil,
			[]string{"a1", "a2"}, false),
		namespaceSelectorRow(t, "namespaceSelector: a namespace joined, the status says so and the Deployment stays",
			&metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}, []string{"a1"},
			[]string{"a1", "a2"}, false),
		namespaceSelectorRow(t, "namespaceSelector {}: all namespaces, checked cluster-wide",
			&metav1.LabelSelector{}, nil,
			[]string{"a1", "a2", "b", testNS}, true),
		perNamespaceRefusal("namespaceSelector: granted per namespace, checked one by one; an access refused in one is not asked in the next",
			append(userSARs("", "a1", "a2"), sars("b")[:3]...),
			`Service account "watcher" cannot list, watch, patch taskruns.tekton.dev in at least 1 of the 3 other namespaces the namespaceSelector selects; `+
				`get pods/log in at least 1 of the 3 other namespaces the namespaceSelector selects`,
			func(a *authorizationv1.ResourceAttributes) bool {
				return a.Namespace == "" || a.Namespace == "b" || (a.Namespace == "a2" && a.Subresource == "log")
			}),
		perNamespaceRefusal("namespaceSelector: refused in every namespace, each access asked in the first only",
			userSARs("", "a1"),
			`Service account "watcher" cannot list, watch, patch taskruns.tekton.dev in at least 1 of the 3 other namespaces the namespaceSelector selects; `+
				`get pods/log in at least 1 of the 3 other namespaces the namespaceSelector selects`,
			func(a *authorizationv1.ResourceAttributes) bool { return a.Namespace != testNS }),
		{
			Name: "namespaceSelector selects nothing: adapter removed",
			Objects: append(namespaces(),
				newSource(append(baseOptions(uriSink), WithServiceAccountName(userSA),
					WithNamespaceSelector(&metav1.LabelSelector{MatchLabels: map[string]string{"team": "c"}}))...),
				makeAdapter(t, src, userSA, uriAddr, []string{"c1"}, false)),
			Key:         testNS + "/" + sourceName,
			WantCreates: []runtime.Object{resources.MakeJournal(src)},
			WantDeletes: []clientgotesting.DeleteActionImpl{deleteAction("deployments", "steps-tektonstep-adapter")},
			WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(newSource(join(
				baseOptions(uriSink), []SourceOption{WithServiceAccountName(userSA),
					WithNamespaceSelector(&metav1.LabelSelector{MatchLabels: map[string]string{"team": "c"}})},
				reconciled(allTaskRunsSource),
				[]SourceOption{WithStatusSink(uriAddr), WithDeadLetterSinkNotConfigured, WithSufficientPermissions,
					WithNotDeployed(ReasonNoNamespaces, "spec.namespaceSelector selects no namespace: there is nothing to watch")})...))},
			WithReactors:            []clientgotesting.ReactionFunc{allowAll},
			SkipNamespaceValidation: true,
		},
	}

	table.Test(t, reconcilerFactory(t))
}

// reconcilerFactory builds the reconciler of the table tests on the fake
// clients and listers of each row.
func reconcilerFactory(t *testing.T) Factory {
	logger := logtesting.TestLogger(t)
	return MakeFactory(func(ctx context.Context, listers *Listers, _ configmap.Watcher) controller.Reconciler {
		r := &Reconciler{
			KubeClientSet:        fakekubeclient.Get(ctx),
			ReceiveAdapterImage:  image,
			SinkResolver:         newSinkResolver(ctx, tracker.New(func(types.NamespacedName) {}, 0), labelledCRDs.Has),
			Configs:              &reconcilersource.EmptyVarsGenerator{},
			NamespaceLister:      listers.GetNamespaceLister(),
			DeploymentLister:     listers.GetDeploymentLister(),
			ServiceAccountLister: listers.GetServiceAccountLister(),
			RoleLister:           listers.GetRoleLister(),
			RoleBindingLister:    listers.GetRoleBindingLister(),
			TaskRunPodLister:     listers.GetPodLister(),

			OIDCServiceAccountLister: listers.GetServiceAccountLister(),
		}
		return tektonstepsourcereconciler.NewReconciler(ctx, logger, fakesourcesclient.Get(ctx),
			listers.GetTektonStepSourceLister(), controller.GetEventRecorder(ctx), r)
	}, logger)
}

// namespaces are the cluster's namespaces in the selector rows.
func namespaces() []runtime.Object {
	return []runtime.Object{
		NewNamespace("a1", map[string]string{"team": "a"}),
		NewNamespace("a2", map[string]string{"team": "a"}),
		NewNamespace("b", map[string]string{"team": "b"}),
		NewNamespace(testNS, nil),
	}
}

// namespaceSelectorRow: a source with a service account and a namespace
// selector; before is what an existing Deployment watches (nil: none yet).
func namespaceSelectorRow(t *testing.T, name string, sel *metav1.LabelSelector, before, want []string, all bool) TableRow {
	opts := append(baseOptions(uriSink), WithServiceAccountName(userSA), WithNamespaceSelector(sel))
	src := newSource(opts...)
	ceSource := allTaskRunsSource
	// Granted cluster-wide: one watch for the namespaces.
	wantAdapter := makeAdapter(t, src, userSA, uriAddr, want, all, true)
	row := TableRow{
		Name:    name,
		Objects: append(namespaces(), src),
		Key:     testNS + "/" + sourceName,
		WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(newSource(join(opts,
			reconciled(ceSource, want...),
			[]SourceOption{WithStatusSink(uriAddr), WithDeadLetterSinkNotConfigured, WithSufficientPermissions, WithDeploymentStatus(wantAdapter)})...))},
		WithReactors:            []clientgotesting.ReactionFunc{allowAll},
		SkipNamespaceValidation: true,
		WantErr:                 true, // the requeue after ResyncInterval
	}
	// Several namespaces: one cluster-wide review per permission answers
	// for all of them when the account has a ClusterRoleBinding.
	row.WantCreates = append([]runtime.Object{resources.MakeJournal(src)}, userSARs("")...)
	if before == nil {
		row.WantCreates = append(row.WantCreates, wantAdapter)
		row.WantEvents = []string{Eventf(corev1.EventTypeNormal, ReasonDeploymentCreated, `Deployment "steps-tektonstep-adapter" created`)}
	} else {
		// The adapter follows status.namespaces: its Deployment does not
		// change (nor restart) with them.
		row.Objects = append(row.Objects, makeAdapter(t, src, userSA, uriAddr, before, all, true))
	}
	return row
}

// invalidCESQLMessage is the validation error of the invalid-spec row,
// computed by the API package so the row checks the controller reports it
// (with its field path) rather than the wording.
func invalidCESQLMessage(t *testing.T) string {
	src := newSource(append(baseOptions(uriSink), WithFilters(eventingv1.SubscriptionsAPIFilter{CESQL: "type = = 'x'"}))...)
	err := src.Validate(context.Background())
	if err == nil {
		t.Fatal("the invalid-spec row's source is valid")
	}
	return err.Error()
}

// withStatusOf returns want carrying have's status (an update keeps it).
func withStatusOf(have, want *appsv1.Deployment) *appsv1.Deployment {
	want = want.DeepCopy()
	want.Status = have.Status
	return want
}

// drifted is the Deployment after somebody edited it.
func drifted(d *appsv1.Deployment) *appsv1.Deployment {
	d = d.DeepCopy()
	c := &d.Spec.Template.Spec.Containers[0]
	c.Image = "registry.example/someone-else"
	c.Env = append(c.Env, corev1.EnvVar{Name: "EXTRA", Value: "1"})
	return d
}

func notOwned[T metav1.Object](o T) T {
	o.SetOwnerReferences([]metav1.OwnerReference{{
		APIVersion: "v1", Kind: "ConfigMap", Name: "somebody", UID: "1", Controller: ptr.Bool(true)}})
	return o
}

func withRoleRef(rb *rbacv1.RoleBinding, role string) *rbacv1.RoleBinding {
	rb.RoleRef.Name = role
	return rb
}

func withSubjects(rb *rbacv1.RoleBinding, s ...rbacv1.Subject) *rbacv1.RoleBinding {
	rb.Subjects = s
	return rb
}

func deleteAction(resource, name string) clientgotesting.DeleteActionImpl {
	return clientgotesting.DeleteActionImpl{
		ActionImpl: clientgotesting.ActionImpl{
			Namespace: testNS,
			Verb:      "delete",
			Resource:  schema.GroupVersionResource{Resource: resource},
		},
		Name: name,
	}
}

// TestCloudEventAttributes documents the source attribute choice.
func TestCloudEventAttributes(t *testing.T) {
	src := newSource(baseOptions(uriSink)...)
	for _, tc := range []struct {
		namespaces []string
		all        bool
		want       string
	}{
		{[]string{"ci"}, false, "/apis/tekton.dev/v1/namespaces/ci/taskruns"},
		{[]string{"a", "b"}, false, "/apis/tekton.dev/v1/taskruns"},
		{[]string{"a"}, true, "/apis/tekton.dev/v1/taskruns"},
		{nil, false, "/apis/tekton.dev/v1/taskruns"},
	} {
		attrs := cloudEventAttributes(src, tc.namespaces, tc.all)
		if len(attrs) != len(v1alpha1.EventTypes) {
			t.Fatalf("%d attributes, want one per event type", len(attrs))
		}
		for i, a := range attrs {
			if a.Type != v1alpha1.EventTypes[i] || a.Source != tc.want {
				t.Errorf("namespaces %v (all %v): attribute %d = %+v, want type %s source %s",
					tc.namespaces, tc.all, i, a, v1alpha1.EventTypes[i], tc.want)
			}
		}
	}
}

// leaseCreates are the creates of a source's journal and Leases, which the
// controller makes whichever account the adapter runs as.
func leaseCreates(src *v1alpha1.TektonStepSource) []runtime.Object {
	out := []runtime.Object{resources.MakeJournal(src)}
	for _, l := range resources.MakeLeases(src) {
		out = append(out, l)
	}
	return out
}

// userAccount is the ServiceAccount userSA, which rows whose account is
// refused something have: without it the status says it does not exist.
func userAccount() *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: userSA, Namespace: testNS}}
}

// missingAccount is the status message of a serviceAccountName that does
// not exist.
const missingAccount = `Service account "watcher" does not exist in namespace "ci": create it and grant it what the adapter needs ` +
	`(docs/security.md), or remove spec.serviceAccountName for an account of the source's own`
