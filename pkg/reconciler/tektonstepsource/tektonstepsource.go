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

// Package tektonstepsource is the TektonStepSource controller: for each
// source it resolves the sink, makes sure the receive adapter's service
// account may read what the source watches, and runs the adapter as a
// Deployment. It is modelled on Knative Eventing's ApiServerSource
// reconciler.
//
// Everything the controller creates is owned by the source, so deleting a
// source garbage-collects its Deployment, ServiceAccount, Role, RoleBinding,
// journal ConfigMap and Leases; the controller needs no finalizer.
package tektonstepsource

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	appsv1listers "k8s.io/client-go/listers/apps/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
	rbacv1listers "k8s.io/client-go/listers/rbac/v1"
	reconcilersource "knative.dev/eventing/pkg/reconciler/source"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/controller"
	pkgreconciler "knative.dev/pkg/reconciler"
	"knative.dev/pkg/resolver"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	tektonstepsourcereconciler "github.com/tektonstep/tekton-step-source/pkg/client/injection/reconciler/sources/v1alpha1/tektonstepsource"
)

// Reasons of the Kubernetes Events and conditions the controller reports.
const (
	ReasonDeploymentCreated       = "DeploymentCreated"
	ReasonDeploymentUpdated       = "DeploymentUpdated"
	ReasonSinkNotFound            = "SinkNotFound"
	ReasonInsufficientPermissions = "InsufficientPermissions"
	// ReasonServiceAccountNotFound is the SufficientPermissions reason of a
	// source whose spec.serviceAccountName does not exist.
	ReasonServiceAccountNotFound = "ServiceAccountNotFound"
	ReasonInvalidSpec            = "InvalidSpec"
	// ReasonNotFound is the SinkProvided reason of an unresolvable sink.
	ReasonNotFound = "NotFound"
	// ReasonNoNamespaces is the Deployed reason of a source whose
	// namespaceSelector selects no namespace.
	ReasonNoNamespaces = "NoNamespaces"
	// ReasonInvalidCACerts is the reason of a sink or dead-letter sink that
	// resolved to CA certificates holding no PEM certificate.
	ReasonInvalidCACerts = "InvalidCACerts"
)

// PermissionRecheckInterval is how soon a source whose service account lacks
// permissions is checked again. RBAC changes raise no event the controller
// could watch cheaply, so it polls while (and only while) permissions are
// missing.
const PermissionRecheckInterval = 30 * time.Second

// ResyncInterval is how often a source is reconciled while nothing
// changes: the journal ConfigMap and Leases its adapter cannot create are
// recreated if deleted, and a user-provided service account's permissions
// are checked again (in the other namespaces a selector selects, what was
// allowed only once allowedAccess forgets it), so that revoked ones show as
// SufficientPermissions=False (the adapter's requests are refused by the
// apiserver from the moment they are revoked; a watch already open runs on
// until it ends, as the apiserver authorizes a watch when it opens). A
// variable so that tests can shorten it.
var ResyncInterval = adaptercontract.ResyncInterval

// Reconciler reconciles TektonStepSources.
type Reconciler struct {
	KubeClientSet kubernetes.Interface

	// ReceiveAdapterImage is the image of the adapter Deployments.
	ReceiveAdapterImage string

	SinkResolver *resolver.URIResolver
	// Configs renders the logging and observability ConfigMaps into the
	// adapter's environment.
	Configs reconcilersource.ConfigAccessor
	// MaskPatterns are the config-masking ConfigMap's patterns as last
	// read valid (nil: none).
	MaskPatterns *MaskPatterns
	// AdapterResources are the config-tektonstep-adapter ConfigMap's
	// container resources as last read (nil: the default).
	AdapterResources *AdapterResources
	// created remembers the sources whose journal and Leases were created
	// recently (nil: creates them on every reconcile).
	created *createdObjects
	// allowedAccess remembers what user-provided accounts were allowed in
	// the other namespaces their sources select (nil: asks every time).
	allowedAccess *allowedAccess

	NamespaceLister      corev1listers.NamespaceLister
	DeploymentLister     appsv1listers.DeploymentLister
	ServiceAccountLister corev1listers.ServiceAccountLister
	RoleLister           rbacv1listers.RoleLister
	RoleBindingLister    rbacv1listers.RoleBindingLister
	// TaskRunPodLister lists the TaskRun pods (resources.TaskRunPodSelector)
	// whose Secrets a per-source Role with masking grants by name.
	TaskRunPodLister corev1listers.PodLister
	// OIDCServiceAccountLister lists the OIDC ServiceAccounts
	// (auth.OIDCLabelSelector) of sources, Knative's sources' among them.
	OIDCServiceAccountLister corev1listers.ServiceAccountLister
}

var _ tektonstepsourcereconciler.Interface = (*Reconciler)(nil)

// ReconcileKind implements tektonstepsourcereconciler.Interface. The
// generated reconciler around it initializes the conditions, sets
// observedGeneration, writes the status and records the returned event.
func (r *Reconciler) ReconcileKind(ctx context.Context, src *v1alpha1.TektonStepSource) pkgreconciler.Event {
	// No admission webhook runs for this CRD: the CRD schema and CEL rules
	// refuse most invalid specs, and the controller applies the defaults and
	// the full Go validation (selector operators, filter dialects, CESQL) in
	// memory before acting on a spec.
	src.SetDefaults(ctx)
	// First, as on ApiServerSource: the OIDC identity is shown, and with
	// Knative's OIDC turned off removed with what it was granted, whatever
	// else is amiss (an invalid spec included).
	oidcOn, err := r.reconcileOIDCIdentity(ctx, src)
	if err != nil {
		return err
	}
	if err := src.Validate(ctx); err != nil {
		src.GetConditionSet().Manage(&src.Status).MarkFalse(v1alpha1.TektonStepSourceConditionReady,
			ReasonInvalidSpec, "Invalid spec: %v", err)
		// Permanent: retrying cannot help until the spec changes, which
		// enqueues the source anyway.
		return controller.NewPermanentError(pkgreconciler.NewEvent(corev1.EventTypeWarning,
			ReasonInvalidSpec, "Invalid spec: %v", err))
	}

	namespaces, allNamespaces, err := r.watchedNamespaces(src)
	if err != nil {
		return fmt.Errorf("listing the watched namespaces: %w", err)
	}

	sink, err := r.SinkResolver.AddressableFromDestinationV1(ctx, src.Spec.Sink, src)
	if msg, refused := refusedRefMessage(err, "spec.sink.ref", src.Spec.Sink); refused {
		src.Status.MarkNoSink(ReasonSinkNotAddressable, "%s", msg)
		// Permanent: only a change of the spec, or of the kind's
		// CustomResourceDefinition (watched), can help.
		return controller.NewPermanentError(fmt.Errorf("resolving the sink: %w", pkgreconciler.NewEvent(
			corev1.EventTypeWarning, ReasonSinkNotAddressable, "%s", msg)))
	}
	if err != nil {
		src.Status.MarkNoSink(ReasonNotFound, "Sink %s not resolved: %v", describeSink(src.Spec.Sink), err)
		// Wrapped, the event is recorded and the key retried with backoff;
		// the resolver also tracks the sink, so its creation or a change of
		// its address reconciles the source at once.
		return fmt.Errorf("resolving the sink: %w", pkgreconciler.NewEvent(corev1.EventTypeWarning,
			ReasonSinkNotFound, "Sink %s not found: %v", describeSink(src.Spec.Sink), err))
	}
	if msg, bad := unusableCACerts(sink, "Sink "+describeSink(src.Spec.Sink)); bad {
		src.Status.MarkNoSink(ReasonInvalidCACerts, "%s", msg)
		// Permanent: the resolver tracks the sink, whose change reconciles
		// the source again.
		return controller.NewPermanentError(pkgreconciler.NewEvent(corev1.EventTypeWarning, ReasonInvalidCACerts, "%s", msg))
	}
	src.Status.MarkSink(sink)
	if err := r.reconcileDeadLetterSink(ctx, src); err != nil {
		return err
	}

	serviceAccount, clusterWatch, err := r.reconcilePermissions(ctx, src, namespaces, allNamespaces)
	if err != nil {
		return err
	}
	// Only an account that is the source's own, or confirmed, may request
	// tokens for its identity.
	var oidcServiceAccount string
	if oidcOn {
		if oidcServiceAccount, err = r.grantOIDCTokens(ctx, src, serviceAccount); err != nil {
			return err
		}
	}
	// Which namespaces a selector matches is shown only once the adapter's
	// account is confirmed to read them (a refusal clears them): a made-up
	// account must not list the cluster's namespaces to whoever made the
	// source.
	src.Status.Namespaces = namespaces
	src.Status.CloudEventAttributes = cloudEventAttributes(src, namespaces, allNamespaces)

	if !allNamespaces && len(namespaces) == 0 {
		// An adapter with nothing to watch would only fail; remove it until
		// a matching namespace appears (namespace events re-reconcile).
		if err := r.deleteReceiveAdapter(ctx, src); err != nil {
			return err
		}
		src.Status.MarkNotDeployed(ReasonNoNamespaces,
			"spec.namespaceSelector selects no namespace: there is nothing to watch")
		return nil
	}

	ra, err := r.reconcileReceiveAdapter(ctx, src, adapterAccounts{adapter: serviceAccount, oidc: oidcServiceAccount},
		sink, namespaces, allNamespaces, clusterWatch)
	if err != nil {
		return err
	}
	src.Status.PropagateDeploymentAvailability(ra)
	return controller.NewRequeueAfter(ResyncInterval)
}

// watchedNamespaces returns the sorted namespaces the source watches and
// whether it watches all of them (an empty namespaceSelector).
func (r *Reconciler) watchedNamespaces(src *v1alpha1.TektonStepSource) ([]string, bool, error) {
	sel := src.Spec.NamespaceSelector
	if sel == nil {
		return []string{src.Namespace}, false, nil
	}
	all := len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, false, err
	}
	list, err := r.NamespaceLister.List(selector)
	if err != nil {
		return nil, false, err
	}
	names := make([]string, 0, len(list))
	for _, ns := range list {
		names = append(names, ns.Name)
	}
	sort.Strings(names)
	return names, all, nil
}

// cloudEventAttributes lists what the source emits, for the source duck
// type (status.ceAttributes, from which Knative derives EventTypes). An
// event's real source is its TaskRun's path; the attribute names the
// collection the TaskRuns come from: the namespace's TaskRuns when the
// source watches one namespace, all TaskRuns when it watches several or all
// (one entry per type keeps the list short and stable while namespaces come
// and go).
func cloudEventAttributes(src *v1alpha1.TektonStepSource, namespaces []string, all bool) []duckv1.CloudEventAttributes {
	source := "/apis/tekton.dev/v1/taskruns"
	if !all && len(namespaces) == 1 {
		source = fmt.Sprintf("/apis/tekton.dev/v1/namespaces/%s/taskruns", namespaces[0])
	}
	attrs := make([]duckv1.CloudEventAttributes, 0, len(v1alpha1.EventTypes))
	for _, t := range v1alpha1.EventTypes {
		attrs = append(attrs, duckv1.CloudEventAttributes{Type: t, Source: source})
	}
	return attrs
}

// unusableCACerts tells whether a resolved address has CA certificates in
// which no PEM certificate parses (v1alpha1.UnusableCACerts), with the
// message saying so.
func unusableCACerts(addr *duckv1.Addressable, what string) (string, bool) {
	if addr == nil || !v1alpha1.UnusableCACerts(addr.CACerts) {
		return "", false
	}
	return fmt.Sprintf("%s resolved to CA certificates in which no PEM certificate parses (%d bytes): no TLS connection to it could be verified",
		what, len(*addr.CACerts)), true
}

// describeSink renders a sink for messages, e.g.
// {"ref":{"kind":"Broker","namespace":"ci","name":"default","apiVersion":"eventing.knative.dev/v1"}}.
func describeSink(dest duckv1.Destination) string {
	b, err := json.Marshal(dest)
	if err != nil {
		return fmt.Sprintf("%+v", dest)
	}
	return string(b)
}
