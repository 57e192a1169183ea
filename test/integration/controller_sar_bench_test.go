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
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	"github.com/tektonstep/tekton-step-source/pkg/reconciler/tektonstepsource"
	"github.com/tektonstep/tekton-step-source/test/inprocess"
)

// BenchmarkControllerSubjectAccessReviews counts the SubjectAccessReviews
// the real controller sends for one source with a user-provided account
// and a namespaceSelector over 1,000 namespaces (BENCH_NAMESPACES), with
// the account granted by a Role in every namespace, apart by a ClusterRole
// binding, and not at all: until the source is Ready (refused), and for one
// reconcile once it is (the periodic one, every ResyncInterval; every
// PermissionRecheckInterval while refused), from which it derives the
// reviews in the first hour and in each hour after. hack/bench.sh runs it
// once.
func BenchmarkControllerSubjectAccessReviews(b *testing.B) {
	namespaces := benchSize(b, "BENCH_NAMESPACES", 1000)
	env := startController(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = inprocess.SimulateAdapters(ctx, cp.Config, nil) }()

	for _, grant := range []string{"roles", "clusterrolebinding", "none"} {
		b.Run(grant, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				home := cp.NewNamespace(b)
				env.createServiceAccount(b, home, "watcher")
				label := "bench.tektonstep.dev/sar"
				for n := 0; n < namespaces; n++ {
					other, err := env.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
						GenerateName: "sar-", Labels: map[string]string{label: home}}}, metav1.CreateOptions{})
					if err != nil {
						b.Fatal(err)
					}
					if grant == "roles" {
						env.grantAdapterRole(b, other.Name, home, "watcher")
					}
				}
				if grant == "clusterrolebinding" {
					clusterGrant(b, env, home, "watcher")
				}
				// The reconciles the namespaces just made (and an earlier
				// case's source) cause are over before counting.
				before := settledReviews(b)
				src := env.createSource(b, home, newSourceObject("sar", duckv1.Destination{URI: apis.HTTP("sink.example")},
					func(s *v1alpha1.TektonStepSourceSpec) {
						s.ServiceAccountName = "watcher"
						s.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{label: home}}
					}))
				env.grantJournal(b, home, "watcher", src)
				// Refused: rechecked every PermissionRecheckInterval.
				outcome, period := "Ready", tektonstepsource.ResyncInterval
				if grant == "none" {
					outcome, period = "refused", tektonstepsource.PermissionRecheckInterval
				}
				env.waitForSource(b, home, src.Name, outcome, func(s *v1alpha1.TektonStepSource) bool {
					if grant == "none" {
						return conditionIs(s, v1alpha1.TektonStepSourceConditionSufficientPermissions, corev1.ConditionFalse, tektonstepsource.ReasonInsufficientPermissions)
					}
					return len(s.Status.Namespaces) == namespaces && conditionIs(s, v1alpha1.TektonStepSourceConditionReady, corev1.ConditionTrue, "")
				})
				toReady := settledReviews(b) - before

				// One more reconcile, as the periodic one: what a source
				// costs while nothing changes.
				before = subjectAccessReviews(b)
				env.touch(b, home, src.Name)
				perReconcile := settledReviews(b) - before
				// The first hour: the start (one full check and the few
				// reconciles that followed), then the periodic reconciles.
				periodic := float64(time.Hour / period)
				firstHour := toReady + (periodic-1)*perReconcile
				// Each hour after: the periodic reconciles, and the full
				// check again once the other namespaces' allowed reviews
				// expire (RoleBindings' grants, which the controller
				// watches, after RBACAllowedAccessTTL; none are kept for
				// the other two grants). The steady state: this benchmark's
				// RoleBindings are created just before the source, so most
				// of its first answers, asked within a minute of them, are
				// kept an hour and its second hour asks them once more.
				perHour := periodic * perReconcile
				if grant == "roles" {
					perHour += toReady * float64(time.Hour) / float64(tektonstepsource.RBACAllowedAccessTTL)
				}
				if err := env.sources.SourcesV1alpha1().TektonStepSources(home).Delete(ctx, src.Name, metav1.DeleteOptions{}); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(firstHour, "reviews/first-hour")
				b.ReportMetric(perHour, "reviews/hour")
				b.Logf("%s over %d namespaces: %.0f SubjectAccessReviews until %s, %.0f per reconcile after (%.0f periodic an hour); the first hour %.0f, each hour after %.0f (allowed by RoleBindings kept %s)",
					grant, namespaces, toReady, outcome, perReconcile, periodic, firstHour, perHour, tektonstepsource.RBACAllowedAccessTTL)
			}
		})
	}
}

// clusterGrant binds a ClusterRole of what the adapter does in watched
// namespaces (adapterRules) to the account: one grant for all namespaces.
func clusterGrant(b *testing.B, env *controllerEnv, ns, sa string) {
	b.Helper()
	ctx := context.Background()
	name := "tekton-step-source-" + ns
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: adapterRules()}
	if _, err := env.kube.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	if _, err := env.kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: sa}}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
}

// subjectAccessReviews is how many SubjectAccessReviews the apiserver has
// answered.
func subjectAccessReviews(b *testing.B) float64 {
	b.Helper()
	requests, err := requestsByKind(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return requests["POST subjectaccessreviews"]
}

// settledReviews waits until the SubjectAccessReview count has not moved
// for 3 s (the reconciles under way are done) and returns it.
func settledReviews(b *testing.B) float64 {
	b.Helper()
	last, since := subjectAccessReviews(b), time.Now()
	for time.Since(since) < 3*time.Second {
		time.Sleep(250 * time.Millisecond)
		if now := subjectAccessReviews(b); now != last {
			last, since = now, time.Now()
		}
	}
	return last
}
