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
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/ptr"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// TestAdapterMayDoNothingElse asks the real apiserver's RBAC authorizer,
// for the per-source account the controller made, every verb on every kind
// the adapter could misuse, in its namespace, in another and cluster-wide,
// of its own objects and of others: allowed is exactly what the security
// model (docs/security.md) lists (written out here, not taken from the
// controller).
func TestAdapterMayDoNothingElse(t *testing.T) {
	env := startController(t)
	ns, other := cp.NewNamespace(t), cp.NewNamespace(t)
	replicas := int32(2)
	src := env.createSource(t, ns, newSourceObject("least", duckv1.Destination{URI: apis.HTTP("sink.example")},
		func(s *v1alpha1.TektonStepSourceSpec) { s.Replicas = &replicas }))
	env.waitForDeployment(t, ns, "least-tektonstep-adapter", "creation", func(*appsv1.Deployment) bool { return true })

	journal := adaptercontract.JournalName(string(src.UID))
	leases := []string{"tekton-step-source-adapter.least.00-of-02", "tekton-step-source-adapter.least.01-of-02"}
	// allowed is the security model: in the source's namespace only.
	allowed := func(namespace, group, resource, verb, name string) bool {
		if namespace != ns {
			return false
		}
		switch group + "/" + resource {
		case "tekton.dev/taskruns":
			return verb == "list" || verb == "watch" || verb == "patch"
		case "/pods/log":
			return verb == "get"
		case "/configmaps":
			return name == journal && (verb == "get" || verb == "patch")
		case "coordination.k8s.io/leases":
			return (name == leases[0] || name == leases[1]) && (verb == "get" || verb == "update")
		case "/events":
			return verb == "create" || verb == "patch"
		}
		return false
	}
	kinds := []struct{ group, resource string }{
		{"tekton.dev", "taskruns"}, {"tekton.dev", "pipelineruns"}, {"tekton.dev", "tasks"},
		{"", "pods"}, {"", "pods/log"}, {"", "pods/exec"}, {"", "configmaps"}, {"", "secrets"},
		{"", "serviceaccounts"}, {"", "serviceaccounts/token"}, {"", "events"}, {"", "namespaces"},
		{"coordination.k8s.io", "leases"}, {"apps", "deployments"},
		{"rbac.authorization.k8s.io", "roles"}, {"rbac.authorization.k8s.io", "rolebindings"},
		{"sources.knative.dev", "tektonstepsources"}, {"sources.knative.dev", "tektonstepsources/status"},
	}
	verbs := []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "escalate", "bind"}
	names := append([]string{"", journal, "something-else"}, leases...)
	user := "system:serviceaccount:" + ns + ":least-tektonstep-adapter"
	checked, granted := 0, 0
	for _, namespace := range []string{ns, other, metav1.NamespaceAll} {
		for _, k := range kinds {
			resource, subresource, _ := strings.Cut(k.resource, "/")
			for _, verb := range verbs {
				for _, name := range names {
					review, err := env.kube.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), &authorizationv1.SubjectAccessReview{
						Spec: authorizationv1.SubjectAccessReviewSpec{
							User:   user,
							Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
							ResourceAttributes: &authorizationv1.ResourceAttributes{
								Namespace: namespace, Verb: verb, Group: k.group, Resource: resource, Subresource: subresource, Name: name,
							},
						},
					}, metav1.CreateOptions{})
					if err != nil {
						t.Fatal(err)
					}
					checked++
					want := allowed(namespace, k.group, k.resource, verb, name)
					if review.Status.Allowed {
						granted++
					}
					if review.Status.Allowed != want {
						where := fmt.Sprintf("namespace %q", namespace)
						t.Errorf("%s %s.%s %q in %s: allowed %v, want %v (%s)", verb, k.resource, k.group, name, where, review.Status.Allowed, want, review.Status.Reason)
					}
				}
			}
		}
	}
	t.Logf("%d requests checked, %d allowed", checked, granted)
}

// TestMaskingGrantsOnlyTheReferencedSecrets: with masking.secretValues the
// real controller grants the adapter get on the namespace's TaskRun pods
// and on the Secrets their step containers reference, by name, as the
// pods come and go; never a Secret only a sidecar or no pod references,
// nor any Secret or pod by list or without a name.
func TestMaskingGrantsOnlyTheReferencedSecrets(t *testing.T) {
	env := startController(t)
	ns := cp.NewNamespace(t)
	env.createSource(t, ns, newSourceObject("masked", duckv1.Destination{URI: apis.HTTP("sink.example")},
		func(s *v1alpha1.TektonStepSourceSpec) { s.Masking = &v1alpha1.MaskingSpec{SecretValues: true} }))
	env.waitForDeployment(t, ns, "masked-tektonstep-adapter", "creation", func(*appsv1.Deployment) bool { return true })
	ctx := context.Background()
	user := "system:serviceaccount:" + ns + ":masked-tektonstep-adapter"
	may := func(verb, resource, name string) bool {
		t.Helper()
		review, err := env.kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: user, Groups: []string{"system:serviceaccounts", "system:authenticated"},
				ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: verb, Resource: resource, Name: name}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return review.Status.Allowed
	}
	// want waits until the adapter may do exactly what grants says.
	want := func(what string, grants map[string]bool) {
		t.Helper()
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			for q, allowed := range grants {
				verb, rest, _ := strings.Cut(q, " ")
				resource, name, _ := strings.Cut(rest, " ")
				if may(verb, resource, name) != allowed {
					return false, nil
				}
			}
			return true, nil
		})
		if err != nil {
			got := map[string]bool{}
			for q := range grants {
				verb, rest, _ := strings.Cut(q, " ")
				resource, name, _ := strings.Cut(rest, " ")
				got[q] = may(verb, resource, name)
			}
			t.Fatalf("%s: the adapter may %v, want %v", what, got, grants)
		}
	}
	secretRef := func(name string) []corev1.EnvFromSource {
		return []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}}}
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "build-pod", Labels: map[string]string{"tekton.dev/taskRun": "build"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "step-compile", Image: "busybox", EnvFrom: secretRef("deploy-token")},
			{Name: "sidecar-db", Image: "busybox", EnvFrom: secretRef("db-admin")},
		}},
	}
	// Not a TaskRun's pod: nothing of it is granted.
	stray := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "stray"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "step-x", Image: "busybox", EnvFrom: secretRef("stray-secret")}}},
	}
	nothing := map[string]bool{
		"get secrets deploy-token": false, "get secrets db-admin": false, "get secrets stray-secret": false,
		"get secrets ": false, "list secrets ": false, "get pods build-pod": false, "get pods stray": false, "get pods ": false,
	}
	want("before any TaskRun pod", nothing)
	for _, p := range []*corev1.Pod{pod, stray} {
		if _, err := env.kube.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	granted := maps.Clone(nothing)
	granted["get secrets deploy-token"], granted["get pods build-pod"] = true, true
	want("with the TaskRun pod", granted)
	if err := env.kube.CoreV1().Pods(ns).Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.Int64(0)}); err != nil {
		t.Fatal(err)
	}
	want("once the pod is gone", nothing)
}
