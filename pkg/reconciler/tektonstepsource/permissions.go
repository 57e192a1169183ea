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
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	"github.com/tektonstep/tekton-step-source/pkg/reconciler/tektonstepsource/resources"
)

// access is one permission the receive adapter needs; name, when set,
// limits it to one object.
type access struct {
	verb, group, resource, subresource, name string
}

// String names the resource the way kubectl does: taskruns.tekton.dev,
// pods/log.
func (a access) String() string {
	s := a.resource
	if a.subresource != "" {
		s += "/" + a.subresource
	}
	if a.group != "" {
		s += "." + a.group
	}
	if a.name != "" {
		s += " " + a.name
	}
	return s
}

// adapterAccess is what the receive adapter does in each watched namespace:
// list and watch TaskRuns, patch its checkpoint annotation on them, and read
// the pod and the step logs of a TaskRun. The ClusterRole
// tekton-step-source-adapter (config/200-clusterrole.yaml) grants them.
var adapterAccess = []access{
	{verb: "get", group: "tekton.dev", resource: "taskruns"},
	{verb: "list", group: "tekton.dev", resource: "taskruns"},
	{verb: "watch", group: "tekton.dev", resource: "taskruns"},
	{verb: "patch", group: "tekton.dev", resource: "taskruns"},
	{verb: "get", resource: "pods"},
	{verb: "get", resource: "pods", subresource: "log"},
}

// leaseAccess is what replicas of an adapter (spec.replicas > 1) need in
// the source's namespace to share the TaskRuns: the Leases of their buckets.
var leaseAccess = []access{
	{verb: "get", group: "coordination.k8s.io", resource: "leases"},
	{verb: "create", group: "coordination.k8s.io", resource: "leases"},
	{verb: "update", group: "coordination.k8s.io", resource: "leases"},
}

// journalAccess is what every adapter needs in the source's namespace: its
// progress journal, a ConfigMap named after the source's UID
// (checkpoint.JournalName). Kubernetes cannot limit create to a name; get
// and patch are checked for that one ConfigMap, so a Role with resourceNames
// is enough.
func journalAccess(src *v1alpha1.TektonStepSource) []access {
	name := checkpoint.JournalName(string(src.UID))
	return []access{
		{verb: "get", resource: "configmaps", name: name},
		{verb: "patch", resource: "configmaps", name: name},
		{verb: "create", resource: "configmaps"},
	}
}

// reconcilePermissions makes sure the adapter's service account may do what
// the adapter does in every watched namespace and returns the account's name.
//
// Without spec.serviceAccountName the controller creates a per-source
// ServiceAccount and binds the adapter ClusterRole to it with a RoleBinding
// in the source's namespace: such a source can only ever read its own
// namespace (validation refuses a namespaceSelector without a service
// account). With spec.serviceAccountName the controller grants nothing: it
// asks the apiserver (SubjectAccessReviews) whether the account may, and
// reports what is missing.
func (r *Reconciler) reconcilePermissions(ctx context.Context, src *v1alpha1.TektonStepSource, namespaces []string, allNamespaces bool) (string, error) {
	if src.Spec.ServiceAccountName == "" {
		if err := r.reconcileServiceAccount(ctx, src); err != nil {
			return "", err
		}
		if err := r.reconcileRoleBinding(ctx, src); err != nil {
			return "", err
		}
		src.Status.MarkSufficientPermissions()
		return resources.ServiceAccountName(src), nil
	}

	// The source switched to its own account: revoke what the controller
	// granted for the default one.
	if err := r.deleteOwnedRBAC(ctx, src); err != nil {
		return "", err
	}
	missing, err := r.missingAccess(ctx, src, namespaces, allNamespaces)
	if err != nil {
		return "", err
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("Service account %q cannot %s", src.Spec.ServiceAccountName, strings.Join(missing, "; "))
		src.Status.MarkNoSufficientPermissions(ReasonInsufficientPermissions, "%s", msg)
		controller.GetEventRecorder(ctx).Event(src, corev1.EventTypeWarning, ReasonInsufficientPermissions, msg)
		// Not deployed: the adapter would fail on every request. Check
		// again soon, as somebody is likely granting the permissions.
		return "", controller.NewRequeueAfter(PermissionRecheckInterval)
	}
	src.Status.MarkSufficientPermissions()
	return src.Spec.ServiceAccountName, nil
}

// missingAccess returns, one item per namespace and resource, what the
// source's service account may not do, e.g.
// `list, watch taskruns.tekton.dev in namespace "ci"`.
func (r *Reconciler) missingAccess(ctx context.Context, src *v1alpha1.TektonStepSource, namespaces []string, allNamespaces bool) ([]string, error) {
	user := "system:serviceaccount:" + src.Namespace + ":" + src.Spec.ServiceAccountName
	// A service account's token carries these groups, and bindings to them
	// count; a SubjectAccessReview only knows the groups it is told.
	groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + src.Namespace, "system:authenticated"}
	denied := func(ns string, accesses []access) ([]access, error) {
		var out []access
		for _, a := range accesses {
			review, err := r.KubeClientSet.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
				Spec: authorizationv1.SubjectAccessReviewSpec{
					User:   user,
					Groups: groups,
					ResourceAttributes: &authorizationv1.ResourceAttributes{
						Namespace:   ns,
						Verb:        a.verb,
						Group:       a.group,
						Resource:    a.resource,
						Subresource: a.subresource,
						Name:        a.name,
					},
				},
			}, metav1.CreateOptions{})
			if err != nil {
				return nil, fmt.Errorf("checking whether %s may %s %s: %w", user, a.verb, a, err)
			}
			if !review.Status.Allowed {
				out = append(out, a)
			}
		}
		return out, nil
	}

	if !allNamespaces && len(namespaces) == 0 {
		// Nothing to watch: no adapter runs.
		return nil, nil
	}
	inSourceNamespace := journalAccess(src)
	if src.Spec.Replicas != nil && *src.Spec.Replicas > 1 {
		inSourceNamespace = append(inSourceNamespace, leaseAccess...)
	}
	sourceNamespaceDenied, err := denied(src.Namespace, inSourceNamespace)
	if err != nil {
		return nil, err
	}
	missing := describeDenied(src.Namespace, sourceNamespaceDenied)
	toCheck := adapterAccess
	if allNamespaces || len(namespaces) > 1 {
		// Cluster-wide first (a review without a namespace). A cluster-wide
		// watch needs exactly that; for several namespaces a
		// ClusterRoleBinding, the usual grant, answers for all of them in
		// six reviews instead of six per namespace.
		clusterDenied, err := denied(metav1.NamespaceAll, adapterAccess)
		if err != nil {
			return nil, err
		}
		if allNamespaces {
			return append(missing, describeDenied(metav1.NamespaceAll, clusterDenied)...), nil
		}
		toCheck = clusterDenied
	}
	for _, ns := range namespaces {
		if len(toCheck) == 0 {
			break
		}
		nsDenied, err := denied(ns, toCheck)
		if err != nil {
			return nil, err
		}
		missing = append(missing, describeDenied(ns, nsDenied)...)
	}
	return missing, nil
}

// describeDenied renders denied accesses in one namespace ("" for all), one
// item per resource: `get, list taskruns.tekton.dev in namespace "ci"`.
func describeDenied(ns string, denied []access) []string {
	where := fmt.Sprintf("in namespace %q", ns)
	if ns == metav1.NamespaceAll {
		where = "in all namespaces"
	}
	var items []string
	for i := 0; i < len(denied); {
		j := i
		var verbs []string
		for ; j < len(denied) && denied[j].String() == denied[i].String(); j++ {
			verbs = append(verbs, denied[j].verb)
		}
		items = append(items, fmt.Sprintf("%s %s %s", strings.Join(verbs, ", "), denied[i], where))
		i = j
	}
	return items
}

func (r *Reconciler) reconcileServiceAccount(ctx context.Context, src *v1alpha1.TektonStepSource) error {
	want := resources.MakeServiceAccount(src)
	client := r.KubeClientSet.CoreV1().ServiceAccounts(src.Namespace)
	sa, err := r.ServiceAccountLister.ServiceAccounts(src.Namespace).Get(want.Name)
	if apierrors.IsNotFound(err) {
		sa, err = client.Create(ctx, want, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			// Not in the informer's cache: it exists without our labels.
			sa, err = client.Get(ctx, want.Name, metav1.GetOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("service account %q: %w", want.Name, err)
	}
	if !metav1.IsControlledBy(sa, src) {
		src.Status.MarkNoSufficientPermissions("ServiceAccountNotOwned",
			"Service account %q exists and is not owned by this source", want.Name)
		return fmt.Errorf("service account %q is not owned by TektonStepSource %q", want.Name, src.Name)
	}
	if !equality.Semantic.DeepDerivative(want.Labels, sa.Labels) {
		sa = sa.DeepCopy()
		sa.Labels = mergeLabels(sa.Labels, want.Labels)
		if _, err := client.Update(ctx, sa, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("updating service account %q: %w", want.Name, err)
		}
	}
	return nil
}

func (r *Reconciler) reconcileRoleBinding(ctx context.Context, src *v1alpha1.TektonStepSource) error {
	want := resources.MakeRoleBinding(src)
	client := r.KubeClientSet.RbacV1().RoleBindings(src.Namespace)
	rb, err := r.RoleBindingLister.RoleBindings(src.Namespace).Get(want.Name)
	if apierrors.IsNotFound(err) {
		rb, err = client.Create(ctx, want, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			rb, err = client.Get(ctx, want.Name, metav1.GetOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("role binding %q: %w", want.Name, err)
	}
	if !metav1.IsControlledBy(rb, src) {
		src.Status.MarkNoSufficientPermissions("RoleBindingNotOwned",
			"Role binding %q exists and is not owned by this source", want.Name)
		return fmt.Errorf("role binding %q is not owned by TektonStepSource %q", want.Name, src.Name)
	}
	if rb.RoleRef != want.RoleRef {
		// roleRef is immutable: replace the binding.
		if err := client.Delete(ctx, rb.Name, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &rb.UID},
		}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("replacing role binding %q: %w", want.Name, err)
		}
		if _, err := client.Create(ctx, want, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("replacing role binding %q: %w", want.Name, err)
		}
		return nil
	}
	if !equality.Semantic.DeepEqual(want.Subjects, rb.Subjects) || !equality.Semantic.DeepDerivative(want.Labels, rb.Labels) {
		rb = rb.DeepCopy()
		rb.Subjects = want.Subjects
		rb.Labels = mergeLabels(rb.Labels, want.Labels)
		if _, err := client.Update(ctx, rb, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("updating role binding %q: %w", want.Name, err)
		}
	}
	return nil
}

// deleteOwnedRBAC deletes the per-source ServiceAccount and RoleBinding, if
// the controller made them.
func (r *Reconciler) deleteOwnedRBAC(ctx context.Context, src *v1alpha1.TektonStepSource) error {
	name := resources.ServiceAccountName(src)
	if rb, err := r.RoleBindingLister.RoleBindings(src.Namespace).Get(name); err == nil && metav1.IsControlledBy(rb, src) {
		if err := r.KubeClientSet.RbacV1().RoleBindings(src.Namespace).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting role binding %q: %w", name, err)
		}
		logging.FromContext(ctx).Infow("Deleted the per-source role binding", "name", name)
	}
	if sa, err := r.ServiceAccountLister.ServiceAccounts(src.Namespace).Get(name); err == nil && metav1.IsControlledBy(sa, src) {
		if err := r.KubeClientSet.CoreV1().ServiceAccounts(src.Namespace).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting service account %q: %w", name, err)
		}
		logging.FromContext(ctx).Infow("Deleted the per-source service account", "name", name)
	}
	return nil
}

// mergeLabels returns have with want's labels set, keeping other labels.
func mergeLabels(have, want map[string]string) map[string]string {
	out := make(map[string]string, len(have)+len(want))
	for k, v := range have {
		out[k] = v
	}
	for k, v := range want {
		out[k] = v
	}
	return out
}
