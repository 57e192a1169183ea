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
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/kmeta"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// MakeServiceAccount is the adapter's service account for a source without
// spec.serviceAccountName. Owned by the source, it is garbage collected with
// it.
func MakeServiceAccount(src *v1alpha1.TektonStepSource) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{
			Name:            ServiceAccountName(src),
			Namespace:       src.Namespace,
			Labels:          Labels(src),
			OwnerReferences: []metav1.OwnerReference{*kmeta.NewControllerRef(src)},
		},
	}
}

// MakeRoleBinding binds the adapter ClusterRole to the per-source service
// account in the source's namespace only: a RoleBinding grants nothing in
// other namespaces, so such a source cannot watch them.
func MakeRoleBinding(src *v1alpha1.TektonStepSource) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{
			Name:            ServiceAccountName(src),
			Namespace:       src.Namespace,
			Labels:          Labels(src),
			OwnerReferences: []metav1.OwnerReference{*kmeta.NewControllerRef(src)},
		},
		RoleRef: rbacv1.RoleRef{
			APIGroup: rbacv1.GroupName,
			Kind:     "ClusterRole",
			Name:     AdapterClusterRole,
		},
		Subjects: []rbacv1.Subject{{
			Kind:      rbacv1.ServiceAccountKind,
			Namespace: src.Namespace,
			Name:      ServiceAccountName(src),
		}},
	}
}
