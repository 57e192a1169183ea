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
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	messagingv1 "knative.dev/eventing/pkg/apis/messaging/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// SourceOption changes a TektonStepSource under construction.
type SourceOption func(*v1alpha1.TektonStepSource)

// NewTektonStepSource builds a source (spec and status as the options say).
func NewTektonStepSource(name, namespace string, opts ...SourceOption) *v1alpha1.TektonStepSource {
	src := &v1alpha1.TektonStepSource{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: namespace,
		},
	}
	for _, opt := range opts {
		opt(src)
	}
	return src
}

// WithSourceUID sets the UID.
func WithSourceUID(uid string) SourceOption {
	return func(s *v1alpha1.TektonStepSource) { s.UID = types.UID(uid) }
}

// WithSourceGeneration sets metadata.generation.
func WithSourceGeneration(g int64) SourceOption {
	return func(s *v1alpha1.TektonStepSource) { s.Generation = g }
}

// WithSourceCreationTimestamp sets metadata.creationTimestamp.
func WithSourceCreationTimestamp(t time.Time) SourceOption {
	return func(s *v1alpha1.TektonStepSource) { s.CreationTimestamp = metav1.NewTime(t) }
}

// WithSourceDeleted marks the source as being deleted.
func WithSourceDeleted(s *v1alpha1.TektonStepSource) {
	t := metav1.NewTime(time.Unix(1e9, 0))
	s.DeletionTimestamp = &t
}

// WithSink sets spec.sink.
func WithSink(d duckv1.Destination) SourceOption {
	return func(s *v1alpha1.TektonStepSource) { s.Spec.Sink = d }
}

// WithServiceAccountName sets spec.serviceAccountName.
func WithServiceAccountName(sa string) SourceOption {
	return func(s *v1alpha1.TektonStepSource) { s.Spec.ServiceAccountName = sa }
}

// WithReplicas sets spec.replicas.
func WithReplicas(n int32) SourceOption {
	return func(s *v1alpha1.TektonStepSource) { s.Spec.Replicas = &n }
}

// WithNamespaceSelector sets spec.namespaceSelector.
func WithNamespaceSelector(sel *metav1.LabelSelector) SourceOption {
	return func(s *v1alpha1.TektonStepSource) { s.Spec.NamespaceSelector = sel }
}

// WithFilters sets spec.filters.
func WithFilters(f ...eventingv1.SubscriptionsAPIFilter) SourceOption {
	return func(s *v1alpha1.TektonStepSource) { s.Spec.Filters = f }
}

// WithInitConditions initializes the conditions (all Unknown).
func WithInitConditions(s *v1alpha1.TektonStepSource) { s.Status.InitializeConditions() }

// WithObservedGeneration sets status.observedGeneration.
func WithObservedGeneration(g int64) SourceOption {
	return func(s *v1alpha1.TektonStepSource) { s.Status.ObservedGeneration = g }
}

// WithStatusSink marks the sink resolved to addr.
func WithStatusSink(addr *duckv1.Addressable) SourceOption {
	return func(s *v1alpha1.TektonStepSource) { s.Status.MarkSink(addr) }
}

// WithStatusNoSink marks the sink unresolved.
func WithStatusNoSink(reason, msg string) SourceOption {
	return func(s *v1alpha1.TektonStepSource) { s.Status.MarkNoSink(reason, "%s", msg) }
}

// WithOIDCDisabled is what a reconcile with Knative's authentication-oidc
// off writes: OIDCIdentityCreated True for that reason, no status.auth.
func WithOIDCDisabled(s *v1alpha1.TektonStepSource) {
	s.Status.MarkOIDCIdentityCreatedSucceededWithReason("authentication-oidc feature disabled", "")
	s.Status.Auth = nil
}

// WithOIDCIdentity is what a reconcile with Knative's authentication-oidc
// on writes: OIDCIdentityCreated True and the OIDC account in status.auth.
func WithOIDCIdentity(serviceAccount string) SourceOption {
	return func(s *v1alpha1.TektonStepSource) {
		s.Status.MarkOIDCIdentityCreatedSucceeded()
		s.Status.Auth = &duckv1.AuthStatus{ServiceAccountName: &serviceAccount}
	}
}

// WithSufficientPermissions marks SufficientPermissions True.
func WithSufficientPermissions(s *v1alpha1.TektonStepSource) { s.Status.MarkSufficientPermissions() }

// WithDeadLetterSinkNotConfigured marks DeadLetterSinkResolved True for a
// source without a dead-letter sink.
func WithDeadLetterSinkNotConfigured(s *v1alpha1.TektonStepSource) {
	s.Status.MarkDeadLetterSinkNotConfigured()
}

// WithStatusDeadLetterSink records the resolved dead-letter sink.
func WithStatusDeadLetterSink(addr *duckv1.Addressable) SourceOption {
	return func(s *v1alpha1.TektonStepSource) { s.Status.MarkDeadLetterSink(addr) }
}

// WithStatusNoDeadLetterSink marks DeadLetterSinkResolved False.
func WithStatusNoDeadLetterSink(reason, msg string) SourceOption {
	return func(s *v1alpha1.TektonStepSource) { s.Status.MarkDeadLetterSinkFailed(reason, "%s", msg) }
}

// WithDelivery sets spec.delivery.
func WithDelivery(d *eventingduckv1.DeliverySpec) SourceOption {
	return func(s *v1alpha1.TektonStepSource) { s.Spec.Delivery = d }
}

// WithNoSufficientPermissions marks SufficientPermissions False.
func WithNoSufficientPermissions(reason, msg string) SourceOption {
	return func(s *v1alpha1.TektonStepSource) { s.Status.MarkNoSufficientPermissions(reason, "%s", msg) }
}

// WithDeploymentStatus propagates a Deployment's availability to Deployed.
func WithDeploymentStatus(d *appsv1.Deployment) SourceOption {
	return func(s *v1alpha1.TektonStepSource) { s.Status.PropagateDeploymentAvailability(d) }
}

// WithNotDeployed marks Deployed False.
func WithNotDeployed(reason, msg string) SourceOption {
	return func(s *v1alpha1.TektonStepSource) { s.Status.MarkNotDeployed(reason, "%s", msg) }
}

// WithReadyFalse marks Ready False directly (an invalid spec).
func WithReadyFalse(reason, msg string) SourceOption {
	return func(s *v1alpha1.TektonStepSource) {
		s.GetConditionSet().Manage(&s.Status).MarkFalse(apis.ConditionReady, reason, "%s", msg)
	}
}

// WithStatusNamespaces sets status.namespaces.
func WithStatusNamespaces(ns ...string) SourceOption {
	return func(s *v1alpha1.TektonStepSource) { s.Status.Namespaces = ns }
}

// WithCEAttributes sets status.ceAttributes to the four step event types
// with the given CloudEvents source.
func WithCEAttributes(source string) SourceOption {
	return func(s *v1alpha1.TektonStepSource) {
		s.Status.CloudEventAttributes = nil
		for _, t := range v1alpha1.EventTypes {
			s.Status.CloudEventAttributes = append(s.Status.CloudEventAttributes,
				duckv1.CloudEventAttributes{Type: t, Source: source})
		}
	}
}

// NewNamespace builds a Namespace with labels.
func NewNamespace(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

// WithDeploymentAvailable sets the status a Deployment controller gives an
// available Deployment.
func WithDeploymentAvailable(d *appsv1.Deployment) *appsv1.Deployment {
	d = d.DeepCopy()
	d.Status.Replicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas = 1, 1, 1
	d.Status.Conditions = []appsv1.DeploymentCondition{{
		Type:   appsv1.DeploymentAvailable,
		Status: corev1.ConditionTrue,
	}}
	return d
}

// NewBroker builds a Broker with the given address (nil: not addressable yet).
func NewBroker(name, namespace string, addr *duckv1.Addressable) *eventingv1.Broker {
	b := &eventingv1.Broker{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}}
	if addr != nil {
		b.Status.Address = addr
		b.Status.Addresses = []duckv1.Addressable{*addr}
	}
	return b
}

// NewInMemoryChannel builds an InMemoryChannel with the given address.
func NewInMemoryChannel(name, namespace string, addr *duckv1.Addressable) *messagingv1.InMemoryChannel {
	c := &messagingv1.InMemoryChannel{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}}
	c.Status.Address = addr
	return c
}

// NewServingService builds a Knative Serving Service with status.address.url.
func NewServingService(name, namespace, url string) *unstructured.Unstructured {
	return newAddressable(ServingServiceGVK.GroupVersion().String(), ServingServiceGVK.Kind, name, namespace, url)
}

// NewEventListener builds a Tekton Triggers EventListener with
// status.address.url.
func NewEventListener(name, namespace, url string) *unstructured.Unstructured {
	return newAddressable(EventListenerGVK.GroupVersion().String(), EventListenerGVK.Kind, name, namespace, url)
}

func newAddressable(apiVersion, kind, name, namespace, url string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": apiVersion,
		"kind":       kind,
		"metadata":   map[string]interface{}{"name": name, "namespace": namespace},
		"status":     map[string]interface{}{"address": map[string]interface{}{"url": url}},
	}}
}
