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

package recipes

import (
	"context"
	"path/filepath"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	versioned "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned"
	"github.com/tektonstep/tekton-step-source/test/controlplane"
)

// TestClusterWideRecipe applies the ApiServerSource-style recipe to the real
// apiserver (twice: it is idempotent) and asks the apiserver's RBAC
// authorizer whether its service account may do, in any namespace, what the
// receive adapter does, and nothing more.
func TestClusterWideRecipe(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(recipesDir(), "cluster-wide-source.yaml")
	for i := 0; i < 2; i++ {
		if _, err := controlplane.ApplyFiles(ctx, cp.Config, "default", path); err != nil {
			t.Fatalf("apply %d: %v", i+1, err)
		}
	}
	src, err := versioned.NewForConfigOrDie(cp.Config).SourcesV1alpha1().TektonStepSources("tekton-step-events").Get(ctx, "cluster-wide", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if src.Spec.ServiceAccountName != "tekton-step-events" || src.Spec.NamespaceSelector == nil {
		t.Fatalf("source spec = %+v", src.Spec)
	}
	if errs := src.Validate(ctx); errs != nil {
		t.Errorf("the source fails the Go validation: %v", errs)
	}
	sel, err := metav1.LabelSelectorAsSelector(src.Spec.NamespaceSelector)
	if err != nil {
		t.Fatal(err)
	}
	if !sel.Matches(labels.Set{"tekton-step-events": "enabled"}) || sel.Matches(labels.Set{}) {
		t.Errorf("namespaceSelector %v does not select exactly the labelled namespaces", sel)
	}

	kube := kubernetes.NewForConfigOrDie(cp.Config)
	user := "system:serviceaccount:tekton-step-events:tekton-step-events"
	type access struct {
		verb, group, resource, subresource string
		allowed                            bool
	}
	tests := []access{
		{"list", "tekton.dev", "taskruns", "", true},
		{"watch", "tekton.dev", "taskruns", "", true},
		{"get", "tekton.dev", "taskruns", "", true},
		{"patch", "tekton.dev", "taskruns", "", true},
		{"get", "", "pods", "", true},
		{"get", "", "pods", "log", true},
		{"create", "", "events", "", true},
		// Nothing the adapter does not need.
		{"update", "tekton.dev", "taskruns", "", false},
		{"delete", "tekton.dev", "taskruns", "", false},
		{"update", "tekton.dev", "taskruns", "status", false},
		{"list", "", "pods", "", false},
		{"get", "", "secrets", "", false},
		{"create", "tekton.dev", "pipelineruns", "", false},
		// The journal is in the source's namespace only.
		{"get", "", "configmaps", "", false},
		{"patch", "", "configmaps", "", false},
	}
	journal := []access{
		{"get", "", "configmaps", "", true},
		{"create", "", "configmaps", "", true},
		{"patch", "", "configmaps", "", true},
		{"delete", "", "configmaps", "", false},
		{"get", "", "secrets", "", false},
	}
	for ns, tests := range map[string][]access{"ci": tests, "team-a": tests, "tekton-step-events": journal} {
		for _, tt := range tests {
			sar, err := kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
				Spec: authorizationv1.SubjectAccessReviewSpec{
					User:   user,
					Groups: []string{"system:serviceaccounts", "system:serviceaccounts:tekton-step-events", "system:authenticated"},
					ResourceAttributes: &authorizationv1.ResourceAttributes{
						Namespace: ns, Verb: tt.verb, Group: tt.group, Resource: tt.resource, Subresource: tt.subresource,
					},
				},
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if sar.Status.Allowed != tt.allowed {
				t.Errorf("%s %s %s/%s in %s: allowed = %v, want %v (%s)", user, tt.verb, tt.resource, tt.subresource, ns,
					sar.Status.Allowed, tt.allowed, sar.Status.Reason)
			}
		}
	}
	// The source's own namespace is what the recipe says.
	if src.Namespace != "tekton-step-events" || src.GetGroupVersionKind() != v1alpha1.SchemeGroupVersion.WithKind("TektonStepSource") {
		t.Errorf("source %s/%s", src.Namespace, src.Name)
	}
}
