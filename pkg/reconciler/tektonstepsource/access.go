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
	"slices"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	"github.com/tektonstep/tekton-step-source/pkg/reconciler/tektonstepsource/resources"
)

// missingAccess lists, for messages, what the source's user-provided
// service account may not do of what its adapter does
// (resources.WatchAccessOf in every watched namespace,
// resources.SourceAccess in the source's), checked with
// SubjectAccessReviews. Only the source's
// own namespace is named: the other namespaces a namespaceSelector selects
// are counted, so that a refused source never lists the cluster's
// namespaces to whoever made it. What the account was allowed in those
// other namespaces is asked again only after it expires (allowedAccess:
// RBACAllowedAccessTTL, AllowedAccessTTL) or what granted it changes, and
// an access refused in one of them is not asked in the others.
// clusterWatch: the account may list and watch TaskRuns in all
// namespaces, so one watch serves several.
func (r *Reconciler) missingAccess(ctx context.Context, src *v1alpha1.TektonStepSource, namespaces []string, allNamespaces bool) (missing []string, clusterWatch bool, err error) {
	user := "system:serviceaccount:" + src.Namespace + ":" + src.Spec.ServiceAccountName
	// A service account's token carries these groups, and bindings to them
	// count; a SubjectAccessReview only knows the groups it is told.
	groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + src.Namespace, "system:authenticated"}
	// review asks each access in ns; denied is what it refused.
	review := func(ns string, accesses []resources.Access) (denied []resources.Access, answers []answer, err error) {
		for _, a := range accesses {
			review, err := r.KubeClientSet.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
				Spec: authorizationv1.SubjectAccessReviewSpec{
					User:   user,
					Groups: groups,
					ResourceAttributes: &authorizationv1.ResourceAttributes{
						Namespace:   ns,
						Verb:        a.Verb,
						Group:       a.Group,
						Resource:    a.Resource,
						Subresource: a.Subresource,
						Name:        a.Name,
					},
				},
			}, metav1.CreateOptions{})
			if err != nil {
				return nil, nil, fmt.Errorf("checking whether %s may %s %s: %w", user, a.Verb, a, err)
			}
			if !review.Status.Allowed {
				denied = append(denied, a)
			}
			answers = append(answers, answer{access: a, allowed: review.Status.Allowed, reason: review.Status.Reason})
		}
		return denied, answers, nil
	}
	denied := func(ns string, accesses []resources.Access) ([]resources.Access, error) {
		out, _, err := review(ns, accesses)
		return out, err
	}

	if !allNamespaces && len(namespaces) == 0 {
		// Nothing to watch: no adapter runs.
		return nil, false, nil
	}
	sourceNamespaceDenied, err := denied(src.Namespace, resources.SourceAccess(src))
	if err != nil {
		return nil, false, err
	}
	missing = describeDenied(fmt.Sprintf("in namespace %q", src.Namespace), sourceNamespaceDenied)
	watchAccess := resources.WatchAccessOf(src)
	toCheck := watchAccess
	if allNamespaces || src.Spec.NamespaceSelector != nil {
		// Cluster-wide first (a review without a namespace). A cluster-wide
		// watch needs exactly that; for several namespaces a
		// ClusterRoleBinding, the usual grant, answers for all of them in
		// one review per access instead of one per access and namespace.
		clusterDenied, err := denied(metav1.NamespaceAll, watchAccess)
		if err != nil {
			return nil, false, err
		}
		if allNamespaces {
			return append(missing, describeDenied("in all namespaces", clusterDenied)...), true, nil
		}
		toCheck = clusterDenied
		clusterWatch = !slices.ContainsFunc(clusterDenied, resources.ListsOrWatchesTaskRuns)
	}
	// The other selected namespaces. An access one of them refuses is not
	// asked in the rest: the source is refused either way, and one refused
	// everywhere would otherwise ask every access in every namespace at
	// each recheck (PermissionRecheckInterval), thousands of reviews every
	// 30 s for a selector over a thousand namespaces.
	var refused []resources.Access
	otherNamespaces := 0
	now := time.Now()
	r.allowedAccess.prune(now)
	for _, ns := range namespaces {
		if len(toCheck) == 0 {
			break
		}
		if ns == src.Namespace {
			nsDenied, err := denied(ns, toCheck)
			if err != nil {
				return nil, false, err
			}
			missing = append(missing, describeDenied(fmt.Sprintf("in namespace %q", ns), nsDenied)...)
			continue
		}
		otherNamespaces++
		pending := slices.DeleteFunc(slices.Clone(toCheck), func(a resources.Access) bool { return slices.Contains(refused, a) })
		if len(pending) == 0 {
			continue
		}
		// What was allowed there and is still remembered
		// (allowedAccess) is not asked again.
		uid := r.namespaceUID(ns)
		ask := r.allowedAccess.unconfirmed(user, ns, uid, pending, now)
		askedAt := time.Now()
		nsDenied, answers, err := review(ns, ask)
		if err != nil {
			return nil, false, err
		}
		r.allowedAccess.record(user, ns, uid, answers, askedAt)
		refused = append(refused, nsDenied...)
	}
	// In the order asked, so that the verbs of one resource stay together.
	slices.SortStableFunc(refused, func(a, b resources.Access) int { return slices.Index(toCheck, a) - slices.Index(toCheck, b) })
	return append(missing, describeDenied(inOtherNamespaces(otherNamespaces), refused)...), clusterWatch, nil
}

// inOtherNamespaces says where an access refused in one of n other selected
// namespaces is missing: in at least that one, since the rest are not asked
// once one refuses.
func inOtherNamespaces(n int) string {
	if n == 1 {
		return "in the other namespace the namespaceSelector selects"
	}
	return fmt.Sprintf("in at least 1 of the %d other namespaces the namespaceSelector selects", n)
}

// describeDenied renders denied accesses, consecutive verbs of one resource
// together: "get, patch configmaps tekton-step-progress-<uid> in ...".
func describeDenied(where string, denied []resources.Access) []string {
	var items []string
	for i := 0; i < len(denied); {
		j := i
		var verbs []string
		for ; j < len(denied) && denied[j].String() == denied[i].String(); j++ {
			verbs = append(verbs, denied[j].Verb)
		}
		items = append(items, fmt.Sprintf("%s %s %s", strings.Join(verbs, ", "), denied[i], where))
		i = j
	}
	return items
}

// namespaceUID is the namespace's UID (from the namespace lister; "" if
// unknown), so that what was allowed in a namespace is not taken as true
// of a new one of the same name.
func (r *Reconciler) namespaceUID(name string) string {
	if r.NamespaceLister != nil {
		if ns, err := r.NamespaceLister.Get(name); err == nil {
			return string(ns.UID)
		}
	}
	return ""
}
