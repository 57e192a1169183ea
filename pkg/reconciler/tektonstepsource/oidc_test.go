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

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgotesting "k8s.io/client-go/testing"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/eventing/pkg/apis/feature"
	reconcilersource "knative.dev/eventing/pkg/reconciler/source"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/ptr"
	. "knative.dev/pkg/reconciler/testing" //nolint:staticcheck // The table test vocabulary, as in Knative.

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	"github.com/tektonstep/tekton-step-source/pkg/reconciler/tektonstepsource/resources"
	. "github.com/tektonstep/tekton-step-source/pkg/reconciler/testing"
)

// The names of an OIDC identity, written out: the account is Knative's
// <name>-oidc-<group>-<kind>; the token Role and RoleBinding are ours,
// <name>-tektonstep-oidc-token (not ApiServerSource's
// <name>-create-oidc-token, which its controller overwrites).
const (
	oidcSA        = "steps-oidc-sources.knative.dev-tektonstepsource"
	oidcTokenRole = "steps-tektonstep-oidc-token"
)

func oidcOn() context.Context {
	return feature.ToContext(context.Background(), feature.Flags{feature.OIDCAuthentication: feature.Enabled})
}

// sourceOwner is the owner reference of everything made for the source.
func sourceOwner() metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: "sources.knative.dev/v1alpha1", Kind: "TektonStepSource", Name: sourceName,
		UID: sourceUID, Controller: ptr.Bool(true), BlockOwnerDeletion: ptr.Bool(true)}
}

// oidcServiceAccount is the OIDC account as Knative's auth package makes
// it: Knative's label only (its informers select on it), owned by the
// source without blocking its deletion.
func oidcServiceAccount() *corev1.ServiceAccount {
	owner := sourceOwner()
	owner.BlockOwnerDeletion = ptr.Bool(false)
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Name: oidcSA, Namespace: testNS,
		Labels:          map[string]string{"eventing.knative.dev/oidc": "enabled"},
		Annotations:     map[string]string{"description": `Service Account for OIDC Authentication for TektonStepSource "steps"`},
		OwnerReferences: []metav1.OwnerReference{owner},
	}}
}

func oidcMetaFor(kind string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: oidcTokenRole, Namespace: testNS,
		Labels: map[string]string{"sources.knative.dev/tektonstepsource": sourceName, "app.kubernetes.io/name": "tekton-step-source",
			"app.kubernetes.io/component": "adapter"},
		Annotations:     map[string]string{"description": kind + ` for the OIDC identity of TektonStepSource "steps"`},
		OwnerReferences: []metav1.OwnerReference{sourceOwner()},
	}
}

// oidcTokenRoleObject may create tokens for the OIDC account, by name, and
// nothing else.
func oidcTokenRoleObject() *rbacv1.Role {
	return &rbacv1.Role{ObjectMeta: oidcMetaFor("Role"), Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, ResourceNames: []string{oidcSA}, Verbs: []string{"create"},
	}}}
}

func oidcTokenRoleBindingObject(subject string) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{ObjectMeta: oidcMetaFor("Role binding"),
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: oidcTokenRole},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: testNS, Name: subject}}}
}

// oidcAdapter is the adapter Deployment with the OIDC account's variable.
func oidcAdapter(t *testing.T, src *v1alpha1.TektonStepSource, sa string) *appsv1.Deployment {
	t.Helper()
	src = src.DeepCopy()
	src.SetDefaults(context.Background())
	d, err := resources.MakeReceiveAdapter(&resources.ReceiveAdapterArgs{
		Image: image, Source: src, ServiceAccountName: sa, OIDCServiceAccount: oidcSA,
		Sink: brokerAddr, Namespaces: []string{testNS}, Configs: &reconcilersource.EmptyVarsGenerator{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestReconcileOIDC: with Knative's authentication-oidc on, a source gets
// the identity ApiServerSource gets; off, none, and what it had is removed.
func TestReconcileOIDC(t *testing.T) {
	src := newSource(baseOptions(brokerRef)...)
	broker := NewBroker("default", testNS, brokerAddr)
	perSource := []runtime.Object{resources.MakeServiceAccount(src), resources.MakeRole(src, nil), resources.MakeRoleBinding(src)}
	adapter := oidcAdapter(t, src, adapterSA)
	plainAdapter := makeAdapter(t, src, adapterSA, brokerAddr, []string{testNS}, false)
	withOIDC := newSource(join(baseOptions(brokerRef), reconciled(oneNamespaceSource, testNS),
		[]SourceOption{WithOIDCIdentity(oidcSA), WithStatusSink(brokerAddr), WithDeadLetterSinkNotConfigured,
			WithSufficientPermissions, WithDeploymentStatus(adapter)})...)
	foreign := oidcServiceAccount()
	foreign.OwnerReferences = nil
	foreignRole := oidcTokenRoleObject()
	foreignRole.OwnerReferences = nil
	invalidOptions := append(baseOptions(brokerRef), WithFilters(eventingv1.SubscriptionsAPIFilter{CESQL: "type = = 'x'"}))
	invalid := newSource(join(invalidOptions, []SourceOption{WithOIDCIdentity(oidcSA)})...)

	table := TableTest{{
		Name:    "on: the OIDC account, its token Role and RoleBinding, the adapter's variable",
		Ctx:     oidcOn(),
		Objects: append([]runtime.Object{src, broker}, perSource...),
		Key:     testNS + "/" + sourceName,
		WantCreates: []runtime.Object{oidcServiceAccount(), resources.MakeJournal(src), oidcTokenRoleObject(),
			oidcTokenRoleBindingObject(adapterSA), adapter},
		WantErr: true, // the requeue after ResyncInterval
		WantEvents: []string{
			Eventf(corev1.EventTypeNormal, ReasonDeploymentCreated, `Deployment "steps-tektonstep-adapter" created`),
		},
		WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(withOIDC)},
	}, {
		Name: "on, everything in place: nothing changes",
		Ctx:  oidcOn(),
		Objects: append([]runtime.Object{withOIDC, broker, oidcServiceAccount(), oidcTokenRoleObject(),
			oidcTokenRoleBindingObject(adapterSA), adapter}, perSource...),
		Key:         testNS + "/" + sourceName,
		WantCreates: []runtime.Object{resources.MakeJournal(src)},
		WantErr:     true,
	}, {
		Name: "on, with spec.serviceAccountName: the token RoleBinding names that account",
		Ctx:  oidcOn(),
		Objects: []runtime.Object{newSource(append(baseOptions(brokerRef), WithServiceAccountName(userSA))...), broker,
			oidcServiceAccount(), oidcTokenRoleObject(), oidcTokenRoleBindingObject(adapterSA)},
		Key: testNS + "/" + sourceName,
		WantCreates: append(append([]runtime.Object{resources.MakeJournal(src)}, userSARs(testNS)...),
			oidcAdapter(t, newSource(append(baseOptions(brokerRef), WithServiceAccountName(userSA))...), userSA)),
		WantUpdates: []clientgotesting.UpdateActionImpl{{Object: oidcTokenRoleBindingObject(userSA)}},
		WantErr:     true,
		WantEvents: []string{
			Eventf(corev1.EventTypeNormal, ReasonDeploymentCreated, `Deployment "steps-tektonstep-adapter" created`),
		},
		WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(newSource(join(
			append(baseOptions(brokerRef), WithServiceAccountName(userSA)), reconciled(oneNamespaceSource, testNS),
			[]SourceOption{WithOIDCIdentity(oidcSA), WithStatusSink(brokerAddr), WithDeadLetterSinkNotConfigured,
				WithSufficientPermissions, WithDeploymentStatus(adapter)})...))},
		WithReactors:            []clientgotesting.ReactionFunc{allowAll},
		SkipNamespaceValidation: true,
	}, {
		Name: "turned off: the account, Role and RoleBinding deleted, the variable removed",
		Objects: append([]runtime.Object{withOIDC, broker, oidcServiceAccount(), oidcTokenRoleObject(),
			oidcTokenRoleBindingObject(adapterSA), adapter}, perSource...),
		Key:         testNS + "/" + sourceName,
		WantCreates: []runtime.Object{resources.MakeJournal(src)},
		WantDeletes: []clientgotesting.DeleteActionImpl{deleteAction("serviceaccounts", oidcSA),
			deleteAction("rolebindings", oidcTokenRole), deleteAction("roles", oidcTokenRole)},
		WantUpdates: []clientgotesting.UpdateActionImpl{{Object: plainAdapter}},
		WantErr:     true,
		WantEvents: []string{
			Eventf(corev1.EventTypeNormal, ReasonDeploymentUpdated, `Deployment "steps-tektonstep-adapter" updated`),
		},
		WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(newSource(join(baseOptions(brokerRef),
			reconciled(oneNamespaceSource, testNS), []SourceOption{WithStatusSink(brokerAddr), WithDeadLetterSinkNotConfigured,
				WithSufficientPermissions, WithDeploymentStatus(plainAdapter)})...))},
	}, {
		Name:    "on, an account of that name not the source's: refused, nothing granted",
		Ctx:     oidcOn(),
		Objects: append([]runtime.Object{src, broker, foreign}, perSource...),
		Key:     testNS + "/" + sourceName,
		WantErr: true,
		WantEvents: []string{
			Eventf(corev1.EventTypeWarning, "InternalError", `the OIDC service account: service account `+oidcSA+` not owned by TektonStepSource steps`),
		},
		WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(newSource(join(baseOptions(brokerRef),
			[]SourceOption{WithInitConditions, WithObservedGeneration(generation), func(s *v1alpha1.TektonStepSource) {
				name := oidcSA
				s.Status.Auth = &duckv1.AuthStatus{ServiceAccountName: &name}
				s.Status.MarkOIDCIdentityCreatedFailed("Unable to resolve service account for OIDC authentication",
					"service account %s not owned by TektonStepSource steps", oidcSA)
			}})...))},
	}, {
		Name:    "turned off with an invalid spec: the identity is removed all the same",
		Objects: []runtime.Object{invalid, oidcServiceAccount(), oidcTokenRoleObject(), oidcTokenRoleBindingObject(adapterSA)},
		Key:     testNS + "/" + sourceName,
		WantDeletes: []clientgotesting.DeleteActionImpl{deleteAction("serviceaccounts", oidcSA),
			deleteAction("rolebindings", oidcTokenRole), deleteAction("roles", oidcTokenRole)},
		WantErr: true,
		WantEvents: []string{
			Eventf(corev1.EventTypeWarning, ReasonInvalidSpec, "Invalid spec: %s", invalidCESQLMessage(t)),
		},
		WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(newSource(join(invalidOptions,
			[]SourceOption{WithInitConditions, WithObservedGeneration(generation), WithOIDCDisabled,
				WithReadyFalse(ReasonInvalidSpec, "Invalid spec: "+invalidCESQLMessage(t))})...))},
	}, {
		Name:        "on, a token Role of that name not the source's: refused, not adopted",
		Ctx:         oidcOn(),
		Objects:     append([]runtime.Object{src, broker, oidcServiceAccount(), foreignRole}, perSource...),
		Key:         testNS + "/" + sourceName,
		WantCreates: []runtime.Object{resources.MakeJournal(src)},
		WantErr:     true,
		WantEvents: []string{
			Eventf(corev1.EventTypeWarning, "InternalError", `role "`+oidcTokenRole+`" is not owned by TektonStepSource "steps"`),
		},
		WantStatusUpdates: []clientgotesting.UpdateActionImpl{statusUpdate(newSource(join(baseOptions(brokerRef),
			initialized(), []SourceOption{WithOIDCIdentity(oidcSA), WithStatusSink(brokerAddr),
				WithDeadLetterSinkNotConfigured, WithSufficientPermissions, func(s *v1alpha1.TektonStepSource) {
					s.Status.MarkOIDCIdentityCreatedFailed("RoleNotOwned", `Role "%s" exists and is not owned by this source`, oidcTokenRole)
				}})...))},
	}}
	table.Test(t, reconcilerFactory(t))
}
