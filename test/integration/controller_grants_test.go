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

package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// TestControllerRevokedGrantShowsAtTheNextReconcile: what a user-provided
// account was allowed in the namespaces a namespaceSelector selects is
// remembered between reconciles, but a change of the grant (a ClusterRole a
// RoleBinding there refers to, a RoleBinding deleted) shows at the next
// reconcile, not when the remembered answer expires.
func TestControllerRevokedGrantShowsAtTheNextReconcile(t *testing.T) {
	env := startController(t)
	ctx := context.Background()
	ns := cp.NewNamespace(t)
	env.createServiceAccount(t, ns, "watcher")
	label := "test.tektonstep.dev/grants"

	// One namespace granted with a Role, one with a RoleBinding to a
	// ClusterRole.
	byRole, byClusterRole := cp.NewNamespace(t), cp.NewNamespace(t)
	env.grantAdapterRole(t, byRole, ns, "watcher")
	rules := adapterRules()
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "step-watcher-" + ns}, Rules: rules}
	if _, err := env.kube.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.kube.RbacV1().ClusterRoles().Delete(context.Background(), role.Name, metav1.DeleteOptions{})
	})
	if _, err := env.kube.RbacV1().RoleBindings(byClusterRole).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "step-watcher"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "watcher"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, other := range []string{byRole, byClusterRole} {
		env.labelNamespace(t, other, label, ns)
	}
	src := env.createSource(t, ns, newSourceObject("granted", duckv1.Destination{URI: apis.HTTP("sink.example")},
		func(s *v1alpha1.TektonStepSourceSpec) {
			s.ServiceAccountName = "watcher"
			s.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{label: ns}}
		}))
	env.grantJournal(t, ns, "watcher", src)
	permitted := func(s *v1alpha1.TektonStepSource) bool {
		return len(s.Status.Namespaces) == 2 && conditionIs(s, v1alpha1.TektonStepSourceConditionSufficientPermissions, corev1.ConditionTrue, "")
	}
	env.waitForSource(t, ns, src.Name, "both namespaces, SufficientPermissions=True", permitted)

	// What the controller reads of the apiserver's answers: the reasons the
	// table test of its parsing (TestGrantOf) writes out.
	for where, want := range map[string]string{
		byRole:        `RBAC: allowed by RoleBinding "tekton-step-source-watcher/` + byRole + `" of Role "tekton-step-source-watcher" to ServiceAccount "watcher/` + ns + `"`,
		byClusterRole: `RBAC: allowed by RoleBinding "step-watcher/` + byClusterRole + `" of ClusterRole "` + role.Name + `" to ServiceAccount "watcher/` + ns + `"`,
	} {
		review, err := env.kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: "system:serviceaccount:" + ns + ":watcher",
				ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: where, Verb: "watch", Group: "tekton.dev", Resource: "taskruns"}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !review.Status.Allowed || review.Status.Reason != want {
			t.Errorf("watch taskruns in %s: allowed %t, reason %q; want allowed, reason %q", where, review.Status.Allowed, review.Status.Reason, want)
		}
	}

	refused := func(what string) func(s *v1alpha1.TektonStepSource) bool {
		return func(s *v1alpha1.TektonStepSource) bool {
			c := s.Status.GetCondition(v1alpha1.TektonStepSourceConditionSufficientPermissions)
			return c != nil && c.IsFalse() && strings.HasPrefix(c.Message, `Service account "watcher" cannot `+what)
		}
	}
	// The ClusterRole loses pods/log.
	role, err := env.kube.RbacV1().ClusterRoles().Get(ctx, role.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	role.Rules = rules[:1]
	if role, err = env.kube.RbacV1().ClusterRoles().Update(ctx, role, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	env.reconcileUntil(t, ns, src.Name, "refused once the ClusterRole lost pods/log", refused("get pods/log in "))

	// Given back: permitted again.
	role.Rules = rules
	if _, err := env.kube.RbacV1().ClusterRoles().Update(ctx, role, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	env.reconcileUntil(t, ns, src.Name, "permitted once the ClusterRole has pods/log again", permitted)

	// The Role's binding deleted.
	if err := env.kube.RbacV1().RoleBindings(byRole).Delete(ctx, "tekton-step-source-watcher", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	env.reconcileUntil(t, ns, src.Name, "refused once the RoleBinding is gone", refused("list, watch, patch taskruns.tekton.dev in "))
}

// reconcileUntil changes an annotation of the source (a reconcile, as the
// periodic one) about every second until ok holds of it, as waitForSource
// waits.
func (e *controllerEnv) reconcileUntil(t *testing.T, ns, name, what string, ok func(*v1alpha1.TektonStepSource) bool) {
	t.Helper()
	var touched time.Time
	e.waitForSource(t, ns, name, what, func(s *v1alpha1.TektonStepSource) bool {
		if ok(s) {
			return true
		}
		if time.Since(touched) >= time.Second {
			e.touch(t, ns, name)
			touched = time.Now()
		}
		return false
	})
}
