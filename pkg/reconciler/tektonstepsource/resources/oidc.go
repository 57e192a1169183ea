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

package resources

import (
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/eventing/pkg/auth"
	"knative.dev/pkg/kmeta"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// With Knative's authentication-oidc feature on, a source has an OIDC
// identity as Knative's own sources do: a ServiceAccount made by
// knative.dev/eventing/pkg/auth (named by
// auth.GetOIDCServiceAccountNameForResource, owned by the source), whose
// tokens the adapter attaches to every request; the adapter's own
// account may request tokens for it, and for nothing else, through the
// Role and RoleBinding below (as ApiServerSource's, but named for this
// kind: ApiServerSource's controller overwrites any Role named
// <name>-create-oidc-token that carries Knative's OIDC label, whoever
// owns it, so a TektonStepSource and an ApiServerSource of the same name
// would fight over one).

// OIDCServiceAccountName is the name of the source's OIDC ServiceAccount.
func OIDCServiceAccountName(src *v1alpha1.TektonStepSource) string {
	return auth.GetOIDCServiceAccountNameForResource(src.GetGroupVersionKind(), src.ObjectMeta)
}

// OIDCTokenRoleName names the source's token Role and RoleBinding.
func OIDCTokenRoleName(src *v1alpha1.TektonStepSource) string {
	return kmeta.ChildName(src.Name, "-tektonstep-oidc-token")
}

// oidcMeta is the metadata of the token Role and RoleBinding: the
// source's labels only (the controller's informers watch objects with
// them), not Knative's OIDC label, which Knative's own controllers watch.
func oidcMeta(src *v1alpha1.TektonStepSource, description string) metav1.ObjectMeta {
	m := meta(src, OIDCTokenRoleName(src))
	m.Annotations = map[string]string{"description": fmt.Sprintf("%s for the OIDC identity of TektonStepSource %q", description, src.Name)}
	return m
}

// MakeOIDCTokenRole lets its subjects request tokens for the source's
// OIDC ServiceAccount only (resourceNames): whoever can act as the
// adapter's account can act as the source towards a sink, and as nothing
// else.
func MakeOIDCTokenRole(src *v1alpha1.TektonStepSource) *rbacv1.Role {
	return &rbacv1.Role{
		ObjectMeta: oidcMeta(src, "Role"),
		Rules: []rbacv1.PolicyRule{{
			APIGroups:     []string{""},
			Resources:     []string{"serviceaccounts/token"},
			ResourceNames: []string{OIDCServiceAccountName(src)},
			Verbs:         []string{"create"},
		}},
	}
}

// MakeOIDCTokenRoleBinding binds the token Role to the account the
// adapter runs as (the per-source one or spec.serviceAccountName).
func MakeOIDCTokenRoleBinding(src *v1alpha1.TektonStepSource, adapterServiceAccount string) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: oidcMeta(src, "Role binding"),
		RoleRef: rbacv1.RoleRef{
			APIGroup: rbacv1.GroupName,
			Kind:     "Role",
			Name:     OIDCTokenRoleName(src),
		},
		Subjects: []rbacv1.Subject{{
			Kind:      rbacv1.ServiceAccountKind,
			Namespace: src.Namespace,
			Name:      adapterServiceAccount,
		}},
	}
}
