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

package controlplane

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// AggregateClusterRoles fills the rules of every ClusterRole with an
// aggregationRule from the ClusterRoles its selectors match, once. It does
// what kube-controller-manager's clusterrole-aggregation controller does
// continuously, which does not run in this control plane: without it an
// aggregated role such as tekton-step-source-addressable-resolver grants
// nothing.
func AggregateClusterRoles(ctx context.Context, cfg *rest.Config) error {
	client := kubernetes.NewForConfigOrDie(cfg).RbacV1().ClusterRoles()
	roles, err := client.List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range roles.Items {
		role := &roles.Items[i]
		if role.AggregationRule == nil {
			continue
		}
		var rules []rbacv1.PolicyRule
		for _, sel := range role.AggregationRule.ClusterRoleSelectors {
			selector, err := metav1.LabelSelectorAsSelector(&sel)
			if err != nil {
				return fmt.Errorf("ClusterRole %s: %w", role.Name, err)
			}
			matched, err := client.List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
			if err != nil {
				return err
			}
			for _, m := range matched.Items {
				if m.Name != role.Name {
					rules = append(rules, m.Rules...)
				}
			}
		}
		role.Rules = rules
		if _, err := client.Update(ctx, role, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("aggregating ClusterRole %s: %w", role.Name, err)
		}
	}
	return nil
}
