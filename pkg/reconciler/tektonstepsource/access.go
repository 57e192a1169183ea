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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
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
// (adaptercontract.JournalName). Kubernetes cannot limit create to a name; get
// and patch are checked for that one ConfigMap, so a Role with resourceNames
// is enough.
func journalAccess(src *v1alpha1.TektonStepSource) []access {
	name := adaptercontract.JournalName(string(src.UID))
	return []access{
		{verb: "get", resource: "configmaps", name: name},
		{verb: "patch", resource: "configmaps", name: name},
		{verb: "create", resource: "configmaps"},
	}
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
