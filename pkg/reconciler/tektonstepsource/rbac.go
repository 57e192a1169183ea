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
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	"github.com/tektonstep/tekton-step-source/pkg/reconciler/tektonstepsource/resources"
)

// reconcilePermissions makes sure the adapter's service account may do what
// the adapter does in every watched namespace and returns the account's
// name, and whether one cluster-wide TaskRun watch may serve several
// namespaces (the account may list and watch TaskRuns in all of them).
//
// Without spec.serviceAccountName the controller creates a per-source
// ServiceAccount, Role and RoleBinding in the source's namespace: such a
// source can only ever read its own
// namespace (validation refuses a namespaceSelector without a service
// account). With spec.serviceAccountName the controller grants nothing: it
// asks the apiserver (SubjectAccessReviews) whether the account may, and
// reports what is missing.
func (r *Reconciler) reconcilePermissions(ctx context.Context, src *v1alpha1.TektonStepSource, namespaces []string, allNamespaces bool) (string, bool, error) {
	if err := r.reconcileAdapterObjects(ctx, src); err != nil {
		return "", false, err
	}
	if src.Spec.ServiceAccountName == "" {
		if err := r.reconcileServiceAccount(ctx, src); err != nil {
			return "", false, err
		}
		if err := r.reconcileRole(ctx, src); err != nil {
			return "", false, err
		}
		if err := r.reconcileRoleBinding(ctx, src); err != nil {
			return "", false, err
		}
		src.Status.MarkSufficientPermissions()
		return resources.ServiceAccountName(src), false, nil
	}

	// The source switched to its own account: revoke what the controller
	// granted for the default one.
	if err := r.deleteOwnedRBAC(ctx, src); err != nil {
		return "", false, err
	}
	missing, clusterWatch, err := r.missingAccess(ctx, src, namespaces, allNamespaces)
	if err != nil {
		return "", false, err
	}
	if len(missing) > 0 {
		reason, msg := ReasonInsufficientPermissions, fmt.Sprintf("Service account %q cannot %s", src.Spec.ServiceAccountName, strings.Join(missing, "; "))
		// An account that does not exist may do nothing: say that, not
		// the list of everything it may not do. (Asked only when refused:
		// a source whose account may do it all costs no request more.)
		if _, err := r.KubeClientSet.CoreV1().ServiceAccounts(src.Namespace).Get(ctx, src.Spec.ServiceAccountName, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			reason, msg = ReasonServiceAccountNotFound, fmt.Sprintf("Service account %q does not exist in namespace %q: create it and grant it "+
				"what the adapter needs (docs/security.md), or remove spec.serviceAccountName for an account of the source's own",
				src.Spec.ServiceAccountName, src.Namespace)
		}
		src.Status.MarkNoSufficientPermissions(reason, "%s", msg)
		src.Status.Namespaces, src.Status.CloudEventAttributes = nil, nil
		controller.GetEventRecorder(ctx).Event(src, corev1.EventTypeWarning, reason, msg)
		// Not deployed: the adapter would fail on every request. Check
		// again soon, as somebody is likely granting the permissions.
		return "", false, controller.NewRequeueAfter(PermissionRecheckInterval)
	}
	src.Status.MarkSufficientPermissions()
	return src.Spec.ServiceAccountName, clusterWatch, nil
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

// reconcileAdapterObjects creates the objects the adapter uses and may
// not create, whichever account it runs as: its journal ConfigMap and its
// bucket Leases. The controller may create ConfigMaps and Leases but not
// read them (that would be every ConfigMap of the cluster), so it creates
// them and takes AlreadyExists as done, at most once per half
// ResyncInterval and generation (createdObjects): the source's periodic
// reconcile recreates a deleted one.
func (r *Reconciler) reconcileAdapterObjects(ctx context.Context, src *v1alpha1.TektonStepSource) error {
	if r.created.recent(src, time.Now()) {
		return nil
	}
	journal := resources.MakeJournal(src)
	if _, err := r.KubeClientSet.CoreV1().ConfigMaps(src.Namespace).Create(ctx, journal, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("progress journal %q: %w", journal.Name, err)
	}
	// Leases are named by the source's name, not its UID: one that
	// already exists may be a deleted source's of the same name,
	// about to be garbage collected. Only a round that created them all is
	// remembered, so the next reconcile creates them again.
	leasesExisted := false
	for _, lease := range resources.MakeLeases(src) {
		_, err := r.KubeClientSet.CoordinationV1().Leases(src.Namespace).Create(ctx, lease, metav1.CreateOptions{})
		switch {
		case apierrors.IsAlreadyExists(err):
			leasesExisted = true
		case err != nil:
			return fmt.Errorf("lease %q: %w", lease.Name, err)
		}
	}
	if !leasesExisted {
		r.created.remember(src, time.Now())
	}
	return nil
}

// reconcileRole keeps the per-source Role what resources.MakeRole says:
// its rules name the journal and Leases, which change with spec.replicas,
// and with masking the TaskRun pods of the namespace and the Secrets they
// reference, which change as TaskRuns run (their pods enqueue the source).
func (r *Reconciler) reconcileRole(ctx context.Context, src *v1alpha1.TektonStepSource) error {
	var pods []*corev1.Pod
	if src.Spec.MasksSecretValues() {
		var err error
		if pods, err = r.TaskRunPodLister.Pods(src.Namespace).List(labels.Everything()); err != nil {
			return fmt.Errorf("listing the TaskRun pods: %w", err)
		}
	}
	return r.applyRole(ctx, src, resources.MakeRole(src, pods), src.Status.MarkNoSufficientPermissions)
}

func (r *Reconciler) reconcileRoleBinding(ctx context.Context, src *v1alpha1.TektonStepSource) error {
	return r.applyRoleBinding(ctx, src, resources.MakeRoleBinding(src), src.Status.MarkNoSufficientPermissions)
}

// markFunc marks one of the source's conditions False.
type markFunc func(reason, messageFormat string, messageA ...interface{})

// applyRole creates the Role the source wants, or updates the stored one
// to it. One that exists and is not the source's is refused (notOwned
// marks the condition it is needed for): the controller never adopts
// objects another owner controls.
func (r *Reconciler) applyRole(ctx context.Context, src *v1alpha1.TektonStepSource, want *rbacv1.Role, notOwned markFunc) error {
	client := r.KubeClientSet.RbacV1().Roles(src.Namespace)
	role, err := r.RoleLister.Roles(src.Namespace).Get(want.Name)
	if apierrors.IsNotFound(err) {
		role, err = client.Create(ctx, want, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			role, err = client.Get(ctx, want.Name, metav1.GetOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("role %q: %w", want.Name, err)
	}
	if !metav1.IsControlledBy(role, src) {
		notOwned("RoleNotOwned", "Role %q exists and is not owned by this source", want.Name)
		return fmt.Errorf("role %q is not owned by TektonStepSource %q", want.Name, src.Name)
	}
	if !equality.Semantic.DeepEqual(want.Rules, role.Rules) || !equality.Semantic.DeepDerivative(want.Labels, role.Labels) {
		role = role.DeepCopy()
		role.Rules = want.Rules
		role.Labels = mergeLabels(role.Labels, want.Labels)
		if _, err := client.Update(ctx, role, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("updating role %q: %w", want.Name, err)
		}
	}
	return nil
}

// applyRoleBinding creates the RoleBinding the source wants, or brings the
// stored one to it (replacing it when its roleRef, which is immutable,
// differs). One that is not the source's is refused, as in applyRole.
func (r *Reconciler) applyRoleBinding(ctx context.Context, src *v1alpha1.TektonStepSource, want *rbacv1.RoleBinding, notOwned markFunc) error {
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
		notOwned("RoleBindingNotOwned", "Role binding %q exists and is not owned by this source", want.Name)
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

// deleteOwnedRBAC deletes the per-source ServiceAccount, Role and
// RoleBinding, if the controller made them.
func (r *Reconciler) deleteOwnedRBAC(ctx context.Context, src *v1alpha1.TektonStepSource) error {
	name := resources.ServiceAccountName(src)
	if err := r.deleteRoleBinding(ctx, src, name); err != nil {
		return err
	}
	if err := r.deleteRole(ctx, src, name); err != nil {
		return err
	}
	if sa, err := r.ServiceAccountLister.ServiceAccounts(src.Namespace).Get(name); err == nil && metav1.IsControlledBy(sa, src) {
		if err := r.KubeClientSet.CoreV1().ServiceAccounts(src.Namespace).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting service account %q: %w", name, err)
		}
		logging.FromContext(ctx).Infow("Deleted the per-source service account", "name", name)
	}
	return nil
}

// deleteRoleBinding deletes the source's RoleBinding of that name, if the
// controller made it.
func (r *Reconciler) deleteRoleBinding(ctx context.Context, src *v1alpha1.TektonStepSource, name string) error {
	if rb, err := r.RoleBindingLister.RoleBindings(src.Namespace).Get(name); err == nil && metav1.IsControlledBy(rb, src) {
		if err := r.KubeClientSet.RbacV1().RoleBindings(src.Namespace).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting role binding %q: %w", name, err)
		}
		logging.FromContext(ctx).Infow("Deleted a role binding of the source", "name", name)
	}
	return nil
}

// deleteRole deletes the source's Role of that name, if the controller
// made it.
func (r *Reconciler) deleteRole(ctx context.Context, src *v1alpha1.TektonStepSource, name string) error {
	if role, err := r.RoleLister.Roles(src.Namespace).Get(name); err == nil && metav1.IsControlledBy(role, src) {
		if err := r.KubeClientSet.RbacV1().Roles(src.Namespace).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting role %q: %w", name, err)
		}
		logging.FromContext(ctx).Infow("Deleted a role of the source", "name", name)
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
