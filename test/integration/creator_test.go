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
	"path/filepath"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	sourcesclient "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned"
	"github.com/tektonstep/tekton-step-source/test/controlplane"
)

// TestCreatorMustReadWhatTheSourceReads: config/'s ValidatingAdmissionPolicy
// on the real apiserver, with impersonated users who may all create
// TektonStepSources in the namespace but differ in what they may read. A
// source is admitted only for a user who could list and watch its
// TaskRuns and get their pods' logs (cluster-wide with a
// namespaceSelector), with serviceAccountName create pods, and with
// masking.secretValues get secrets, with deletionGuard patch TaskRuns, and
// with a sink or dead-letter sink ref in another namespace get that
// object; the refusal names the missing permission. An update is checked when it changes the
// spec; one that does not (a label) is not.
func TestCreatorMustReadWhatTheSourceReads(t *testing.T) {
	ctx := context.Background()
	policy := filepath.Join(controlplane.RepoRoot(), "config", "350-creator-policy.yaml")
	if _, err := controlplane.ApplyFiles(ctx, cp.Config, "default", policy); err != nil {
		t.Fatal(err)
	}
	ns := cp.NewNamespace(t)
	kube := kubernetes.NewForConfigOrDie(cp.Config)
	rule := func(group, resource string, verbs ...string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: []string{group}, Resources: []string{resource}, Verbs: verbs}
	}
	editor := rule("sources.knative.dev", "tektonstepsources", "get", "create", "update", "patch")
	readAll := []rbacv1.PolicyRule{rule("tekton.dev", "taskruns", "list", "watch"), rule("", "pods/log", "get")}
	grantIn := func(ns, user string, rules ...rbacv1.PolicyRule) {
		t.Helper()
		name := "creator-" + user
		if _, err := kube.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := kube.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: user}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	grant := func(user string, rules ...rbacv1.PolicyRule) { t.Helper(); grantIn(ns, user, rules...) }
	// Users are unique to the namespace: the cluster-wide grant below
	// reaches no other test.
	user := func(name string) string { return ns + "-" + name }
	grant(user("reader"), append([]rbacv1.PolicyRule{editor}, readAll...)...)
	grant(user("no-list"), editor, rule("tekton.dev", "taskruns", "watch"), rule("", "pods/log", "get"))
	grant(user("no-watch"), editor, rule("tekton.dev", "taskruns", "list"), rule("", "pods/log", "get"))
	grant(user("no-logs"), editor, rule("tekton.dev", "taskruns", "list", "watch"))
	grant(user("runner"), append([]rbacv1.PolicyRule{editor, rule("", "pods", "create")}, readAll...)...)
	grant(user("editor"), editor)
	grant(user("secret-reader"), append([]rbacv1.PolicyRule{editor, rule("", "secrets", "get")}, readAll...)...)
	grant(user("patcher"), append([]rbacv1.PolicyRule{editor, rule("tekton.dev", "taskruns", "patch")}, readAll...)...)
	grant(user("cluster-reader"), editor, rule("", "pods", "create"))
	// Sinks in another namespace: the Broker "default" and the
	// EventListener "on-step" there, which "broker-reader" may get (and
	// only those: an RBAC rule naming them).
	other := cp.NewNamespace(t)
	grant(user("broker-reader"), append([]rbacv1.PolicyRule{editor}, readAll...)...)
	grantIn(other, user("broker-reader"),
		rbacv1.PolicyRule{APIGroups: []string{"eventing.knative.dev"}, Resources: []string{"brokers"}, ResourceNames: []string{"default"}, Verbs: []string{"get"}},
		rbacv1.PolicyRule{APIGroups: []string{"triggers.tekton.dev"}, Resources: []string{"eventlisteners"}, ResourceNames: []string{"on-step"}, Verbs: []string{"get"}})
	clusterRead := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: user("cluster-reader")}, Rules: readAll}
	if _, err := kube.RbacV1().ClusterRoles().Create(ctx, clusterRead, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user("cluster-reader")},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRead.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: user("cluster-reader")}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = kube.RbacV1().ClusterRoleBindings().Delete(ctx, clusterRead.Name, metav1.DeleteOptions{})
		_ = kube.RbacV1().ClusterRoles().Delete(ctx, clusterRead.Name, metav1.DeleteOptions{})
	})
	as := func(name string) sourcesclient.Interface {
		cfg := rest.CopyConfig(cp.Config)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: user(name), Groups: []string{"system:authenticated"}}
		return sourcesclient.NewForConfigOrDie(cfg)
	}
	sink := duckv1.Destination{URI: apis.HTTP("sink.example")}
	plain := func(string) func(*v1alpha1.TektonStepSourceSpec) { return func(*v1alpha1.TektonStepSourceSpec) {} }
	ownAccount := func(string) func(*v1alpha1.TektonStepSourceSpec) {
		return func(s *v1alpha1.TektonStepSourceSpec) { s.ServiceAccountName = "watcher" }
	}
	masking := func(string) func(*v1alpha1.TektonStepSourceSpec) {
		return func(s *v1alpha1.TektonStepSourceSpec) { s.Masking = &v1alpha1.MaskingSpec{SecretValues: true} }
	}
	guarded := func(string) func(*v1alpha1.TektonStepSourceSpec) {
		return func(s *v1alpha1.TektonStepSourceSpec) { s.DeletionGuard = &v1alpha1.DeletionGuardSpec{} }
	}
	ref := func(apiVersion, kind, ns, name string) *duckv1.KReference {
		return &duckv1.KReference{APIVersion: apiVersion, Kind: kind, Namespace: ns, Name: name}
	}
	sinkIn := func(ns, name string) func(string) func(*v1alpha1.TektonStepSourceSpec) {
		return func(string) func(*v1alpha1.TektonStepSourceSpec) {
			return func(s *v1alpha1.TektonStepSourceSpec) {
				s.Sink = duckv1.Destination{Ref: ref("eventing.knative.dev/v1", "Broker", ns, name)}
			}
		}
	}
	deadLetterIn := func(ns, name string) func(string) func(*v1alpha1.TektonStepSourceSpec) {
		return func(string) func(*v1alpha1.TektonStepSourceSpec) {
			return func(s *v1alpha1.TektonStepSourceSpec) {
				s.Delivery = &eventingduckv1.DeliverySpec{DeadLetterSink: &duckv1.Destination{
					Ref: ref("triggers.tekton.dev/v1beta1", "EventListener", ns, name)}}
			}
		}
	}
	everywhere := func(string) func(*v1alpha1.TektonStepSourceSpec) {
		return func(s *v1alpha1.TektonStepSourceSpec) {
			s.ServiceAccountName = "watcher"
			s.NamespaceSelector = &metav1.LabelSelector{}
		}
	}

	// The policy takes effect a moment after it is created.
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := as("no-list").SourcesV1alpha1().TektonStepSources(ns).Create(ctx, newSourceObject("probe", sink), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err != nil, nil
	}); err != nil {
		t.Fatalf("the policy never refused a user who may not list TaskRuns: %v", err)
	}

	tests := []struct {
		user string
		spec func(string) func(*v1alpha1.TektonStepSourceSpec)
		// wantErr is part of the refusal; "" means admitted.
		wantErr string
	}{
		{user: "reader", spec: plain},
		{user: "no-list", spec: plain, wantErr: "may not list taskruns.tekton.dev in namespace " + ns},
		{user: "no-watch", spec: plain, wantErr: "may not watch taskruns.tekton.dev in namespace " + ns},
		{user: "no-logs", spec: plain, wantErr: "may not get pods/log in namespace " + ns},
		{user: "reader", spec: ownAccount, wantErr: "may not create pods in namespace " + ns},
		{user: "runner", spec: ownAccount},
		{user: "runner", spec: everywhere, wantErr: "may not list taskruns.tekton.dev in all namespaces"},
		{user: "cluster-reader", spec: everywhere},
		{user: "reader", spec: masking, wantErr: "may not get secrets in namespace " + ns},
		{user: "secret-reader", spec: masking},
		{user: "reader", spec: guarded, wantErr: "may not patch taskruns.tekton.dev in namespace " + ns},
		{user: "patcher", spec: guarded},
		// A sink in the source's own namespace needs no more.
		{user: "reader", spec: sinkIn(ns, "default")},
		{user: "reader", spec: sinkIn(other, "default"), wantErr: "may not get brokers.eventing.knative.dev " + other + "/default"},
		{user: "broker-reader", spec: sinkIn(other, "default")},
		{user: "broker-reader", spec: sinkIn(other, "another"), wantErr: "may not get brokers.eventing.knative.dev " + other + "/another"},
		{user: "reader", spec: deadLetterIn(other, "on-step"), wantErr: "may not get eventlisteners.triggers.tekton.dev " + other + "/on-step"},
		{user: "broker-reader", spec: deadLetterIn(other, "on-step")},
	}
	for i, tc := range tests {
		name := strings.ReplaceAll(tc.user, "-", "") + "-" + string(rune('a'+i))
		_, err := as(tc.user).SourcesV1alpha1().TektonStepSources(ns).Create(ctx, newSourceObject(name, sink, tc.spec(name)), metav1.CreateOptions{})
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s, source %s: refused: %v", tc.user, name, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), user(tc.user))):
			t.Errorf("%s, source %s: error %v, want one naming the user and %q", tc.user, name, err, tc.wantErr)
		case err != nil:
			t.Logf("%s: %v", tc.user, err)
		}
	}

	// An update that widens what a source reads is checked as a creation.
	created, err := as("runner").SourcesV1alpha1().TektonStepSources(ns).Create(ctx, newSourceObject("widened", sink, ownAccount("")), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	widened := created.DeepCopy()
	widened.Spec.NamespaceSelector = &metav1.LabelSelector{}
	if _, err := as("runner").SourcesV1alpha1().TektonStepSources(ns).Update(ctx, widened, metav1.UpdateOptions{}); err == nil ||
		!strings.Contains(err.Error(), "may not list taskruns.tekton.dev in all namespaces") {
		t.Errorf("widening the selector without a cluster-wide grant: %v, want a refusal", err)
	}
	// A change that leaves the spec alone is not: a user who may edit
	// sources but read nothing may still label one.
	if _, err := as("editor").SourcesV1alpha1().TektonStepSources(ns).Patch(ctx, "widened", types.MergePatchType,
		[]byte(`{"metadata":{"labels":{"team":"a"}}}`), metav1.PatchOptions{}); err != nil {
		t.Errorf("a label change by a user who reads nothing was refused: %v", err)
	}
	// Changing the spec is not.
	if _, err := as("editor").SourcesV1alpha1().TektonStepSources(ns).Patch(ctx, "widened", types.MergePatchType,
		[]byte(`{"spec":{"log":{"maxBytes":1024}}}`), metav1.PatchOptions{}); err == nil || !strings.Contains(err.Error(), "may not list taskruns.tekton.dev") {
		t.Errorf("a spec change by a user who reads nothing: %v, want a refusal", err)
	}
}
