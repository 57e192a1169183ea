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
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

func TestGrantsChanged(t *testing.T) {
	role := func(rv string) *rbacv1.Role {
		return &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "r", ResourceVersion: rv}}
	}
	clusterRole := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "edit", ResourceVersion: "1"}}
	for _, tc := range []struct {
		name                    string
		event                   func(cache.ResourceEventHandler)
		namespace, clusterRoles bool // a change seen: of namespace a, of ClusterRole edit
	}{
		{name: "the first list", event: func(h cache.ResourceEventHandler) { h.OnAdd(role("1"), true) }},
		{name: "a Role created", event: func(h cache.ResourceEventHandler) { h.OnAdd(role("1"), false) }, namespace: true},
		{name: "a RoleBinding created", event: func(h cache.ResourceEventHandler) {
			h.OnAdd(&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "b", ResourceVersion: "1"}}, false)
		}, namespace: true},
		{name: "a resync", event: func(h cache.ResourceEventHandler) { h.OnUpdate(role("1"), role("1")) }},
		{name: "a Role changed", event: func(h cache.ResourceEventHandler) { h.OnUpdate(role("1"), role("2")) }, namespace: true},
		{name: "a Role deleted", event: func(h cache.ResourceEventHandler) { h.OnDelete(role("2")) }, namespace: true},
		{name: "a Role deleted while the watch was down", event: func(h cache.ResourceEventHandler) {
			h.OnDelete(cache.DeletedFinalStateUnknown{Key: "a/r", Obj: role("2")})
		}, namespace: true},
		{name: "a ClusterRole changed", event: func(h cache.ResourceEventHandler) {
			changed := clusterRole.DeepCopy()
			changed.ResourceVersion = "2"
			h.OnUpdate(clusterRole, changed)
		}, clusterRoles: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newAllowedAccess()
			tc.event(grantsChanged(c))
			if _, got := c.namespaceChangedAt["a"]; got != tc.namespace {
				t.Errorf("a change of namespace a seen: %t, want %t", got, tc.namespace)
			}
			if _, got := c.clusterRoleChangedAt["edit"]; got != tc.clusterRoles {
				t.Errorf("a change of ClusterRole edit seen: %t, want %t", got, tc.clusterRoles)
			}
		})
	}
}

func TestTrimToNames(t *testing.T) {
	full := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "edit", ResourceVersion: "7", UID: "u", Labels: map[string]string{"l": "v"}},
		Rules:      []rbacv1.PolicyRule{{Verbs: []string{"get"}, Resources: []string{"pods"}}},
	}
	got, err := trimToNames(full)
	if err != nil {
		t.Fatal(err)
	}
	want := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "edit", ResourceVersion: "7", UID: "u"}}
	if cr, ok := got.(*rbacv1.ClusterRole); !ok || cr.Name != want.Name || cr.ResourceVersion != want.ResourceVersion ||
		cr.UID != want.UID || len(cr.Labels) != 0 || len(cr.Rules) != 0 {
		t.Errorf("trimToNames = %+v, want %+v", got, want)
	}
}
