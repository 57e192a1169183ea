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
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/kmeta"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// meta is the metadata of an object made for the source, owned by it.
func meta(src *v1alpha1.TektonStepSource, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:            name,
		Namespace:       src.Namespace,
		Labels:          Labels(src),
		OwnerReferences: []metav1.OwnerReference{*kmeta.NewControllerRef(src)},
	}
}

// MakeServiceAccount is the per-source ServiceAccount of a source without
// spec.serviceAccountName.
func MakeServiceAccount(src *v1alpha1.TektonStepSource) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: meta(src, ServiceAccountName(src))}
}

// MakeRole is the per-source Role of a source without
// spec.serviceAccountName: exactly what its adapter does in the source's
// namespace, the only one such a source watches (WatchAccess,
// SourceAccess, ReplicaCountAccess, EventAccess), with its journal, Leases
// and Deployment by name; with
// spec.masking.secretValues also MaskAccessTo the namespace's TaskRun pods
// (taskRunPods, ignored otherwise).
func MakeRole(src *v1alpha1.TektonStepSource, taskRunPods []*corev1.Pod) *rbacv1.Role {
	var mask []Access
	if src.Spec.MasksSecretValues() {
		mask = MaskAccessTo(taskRunPods)
	}
	return &rbacv1.Role{
		ObjectMeta: meta(src, ServiceAccountName(src)),
		Rules:      Rules(WatchAccess, mask, SourceAccess(src), ReplicaCountAccess(src), EventAccess),
	}
}

// MakeRoleBinding binds the per-source Role to the per-source ServiceAccount.
func MakeRoleBinding(src *v1alpha1.TektonStepSource) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: meta(src, ServiceAccountName(src)),
		RoleRef: rbacv1.RoleRef{
			APIGroup: rbacv1.GroupName,
			Kind:     "Role",
			Name:     ServiceAccountName(src),
		},
		Subjects: []rbacv1.Subject{{
			Kind:      rbacv1.ServiceAccountKind,
			Namespace: src.Namespace,
			Name:      ServiceAccountName(src),
		}},
	}
}

// MakeJournal is the source's empty progress journal ConfigMap
// (adaptercontract.JournalName), which the adapter may read and patch but
// not create.
func MakeJournal(src *v1alpha1.TektonStepSource) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: meta(src, adaptercontract.JournalName(string(src.UID)))}
}

// LeaseNames are the names of the source's bucket Leases: one per replica
// with spec.replicas > 1, none otherwise (one replica leads everything).
func LeaseNames(src *v1alpha1.TektonStepSource) []string {
	n := uint32(*replicas(src))
	if n <= 1 {
		return nil
	}
	names := make([]string, 0, n)
	for i := range n {
		names = append(names, adaptercontract.LeaseName(src.Name, i, n))
	}
	return names
}

// MakeLeases are the source's bucket Leases, empty: the adapter's replicas
// take them with updates (client-go's leader election creates a Lease only
// when it is missing).
func MakeLeases(src *v1alpha1.TektonStepSource) []*coordinationv1.Lease {
	var out []*coordinationv1.Lease
	for _, name := range LeaseNames(src) {
		out = append(out, &coordinationv1.Lease{ObjectMeta: meta(src, name)})
	}
	return out
}
