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
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tektonstep/tekton-step-source/pkg/reconciler/tektonstepsource/resources"
)

// The reasons the RBAC authorizer gives (written out as the apiserver
// answers: TestControllerRevokedGrantShowsAtTheNextReconcile checks that it
// does), not built with the pattern that reads them.
const (
	byRole        = `RBAC: allowed by RoleBinding "tekton-step-source-watcher/a" of Role "tekton-step-source-watcher" to ServiceAccount "watcher/home"`
	byClusterRole = `RBAC: allowed by RoleBinding "edit/a" of ClusterRole "edit" to ServiceAccount "watcher/home"`
	byWebhook     = "allowed by the webhook"
)

func TestGrantOf(t *testing.T) {
	for _, tc := range []struct {
		name, reason, namespace string
		want                    grant
	}{
		{name: "a Role of the namespace", reason: byRole, namespace: "a", want: grant{rbac: true}},
		{name: "a ClusterRole bound in the namespace", reason: byClusterRole, namespace: "a", want: grant{rbac: true, clusterRole: "edit"}},
		{name: "a RoleBinding of another namespace", reason: byRole, namespace: "b", want: grant{}},
		{name: "a ClusterRoleBinding", reason: `RBAC: allowed by ClusterRoleBinding "edit" of ClusterRole "edit" to ServiceAccount "watcher/home"`, namespace: "a", want: grant{}},
		{name: "a ClusterRole whose name holds a quote", reason: `RBAC: allowed by RoleBinding "b/a" of ClusterRole "x\" to y" to ServiceAccount "watcher/home"`,
			namespace: "a", want: grant{rbac: true, clusterRole: `x" to y`}},
		{name: "a binding whose name holds a quote", reason: `RBAC: allowed by RoleBinding "b\"/c/a" of Role "r" to ServiceAccount "watcher/home"`,
			namespace: "a", want: grant{rbac: true}},
		{name: "another authorizer", reason: byWebhook, namespace: "a", want: grant{}},
		{name: "no reason", namespace: "a", want: grant{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := grantOf(tc.reason, tc.namespace); got != tc.want {
				t.Errorf("grantOf(%q, %q) = %+v, want %+v", tc.reason, tc.namespace, got, tc.want)
			}
		})
	}
}

func TestAllowedAccess(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	list := resources.Access{Verb: "list", Group: "tekton.dev", Resource: "taskruns"}
	watch := resources.Access{Verb: "watch", Group: "tekton.dev", Resource: "taskruns"}
	logs := resources.Access{Verb: "get", Resource: "pods", Subresource: "log"}
	all := []resources.Access{list, watch, logs}
	type asked struct {
		user, namespace, uid string
		denied               []resources.Access
		reason               string
		at                   time.Duration // after t0
	}
	answers := func(a asked) []answer {
		var out []answer
		for _, access := range all {
			out = append(out, answer{access: access, allowed: !slices.Contains(a.denied, access), reason: a.reason})
		}
		return out
	}
	type change struct {
		namespace, clusterRole string
		at                     time.Duration
	}
	for _, tc := range []struct {
		name          string
		asked         []asked
		changes       []change // seen after the answers are recorded, unless changesFirst
		changesFirst  bool
		user, ns, uid string
		after         time.Duration
		want          []resources.Access
	}{
		{name: "nothing asked yet", user: "u", ns: "a", want: all},
		{name: "allowed: not asked again", asked: []asked{{user: "u", namespace: "a"}}, user: "u", ns: "a", after: time.Minute, want: nil},
		{name: "a denial is asked again", asked: []asked{{user: "u", namespace: "a", denied: []resources.Access{logs}}}, user: "u", ns: "a", after: time.Second, want: []resources.Access{logs}},
		{name: "allowed, then denied: asked again", asked: []asked{{user: "u", namespace: "a"}, {user: "u", namespace: "a", denied: []resources.Access{watch}}}, user: "u", ns: "a", after: time.Second, want: []resources.Access{watch}},
		{name: "another authorizer: expired after AllowedAccessTTL", asked: []asked{{user: "u", namespace: "a", reason: byWebhook}}, user: "u", ns: "a", after: AllowedAccessTTL, want: all},
		{name: "another authorizer: just before it expires", asked: []asked{{user: "u", namespace: "a", reason: byWebhook}}, user: "u", ns: "a", after: AllowedAccessTTL - time.Second, want: nil},
		{name: "a RoleBinding: kept past AllowedAccessTTL", asked: []asked{{user: "u", namespace: "a", reason: byRole}}, user: "u", ns: "a", after: AllowedAccessTTL, want: nil},
		{name: "a RoleBinding: expired after RBACAllowedAccessTTL", asked: []asked{{user: "u", namespace: "a", reason: byRole}}, user: "u", ns: "a", after: RBACAllowedAccessTTL, want: all},
		{name: "another namespace", asked: []asked{{user: "u", namespace: "a"}}, user: "u", ns: "b", want: all},
		{name: "another account", asked: []asked{{user: "u", namespace: "a"}}, user: "v", ns: "a", want: all},
		{name: "a namespace of the same name made again", asked: []asked{{user: "u", namespace: "a", uid: "1", reason: byRole}}, user: "u", ns: "a", uid: "2", want: all},
		{name: "the namespace's Roles or RoleBindings changed: forgotten",
			asked: []asked{{user: "u", namespace: "a", reason: byRole}}, changes: []change{{namespace: "a", at: time.Hour}},
			user: "u", ns: "a", after: time.Hour, want: all},
		{name: "another namespace's changed: kept",
			asked: []asked{{user: "u", namespace: "a", reason: byRole}}, changes: []change{{namespace: "b", at: time.Hour}},
			user: "u", ns: "a", after: time.Hour, want: nil},
		{name: "the ClusterRole bound changed: forgotten",
			asked: []asked{{user: "u", namespace: "a", reason: byClusterRole}}, changes: []change{{clusterRole: "edit", at: time.Hour}},
			user: "u", ns: "a", after: time.Hour, want: all},
		{name: "another ClusterRole changed: kept",
			asked: []asked{{user: "u", namespace: "a", reason: byClusterRole}}, changes: []change{{clusterRole: "view", at: time.Hour}},
			user: "u", ns: "a", after: time.Hour, want: nil},
		{name: "a ClusterRole changed, the grant is a Role: kept",
			asked: []asked{{user: "u", namespace: "a", reason: byRole}}, changes: []change{{clusterRole: "edit", at: time.Hour}},
			user: "u", ns: "a", after: time.Hour, want: nil},
		{name: "the namespace changed after the answer was asked, before it was recorded: not recorded",
			changes: []change{{namespace: "a", at: time.Second}}, changesFirst: true, asked: []asked{{user: "u", namespace: "a", reason: byRole}},
			user: "u", ns: "a", after: 2 * time.Second, want: all},
		{name: "the namespace changed just before the answer: kept only AllowedAccessTTL",
			changes: []change{{namespace: "a", at: 0}}, changesFirst: true, asked: []asked{{user: "u", namespace: "a", reason: byRole, at: rbacChangeSettle - time.Second}},
			user: "u", ns: "a", after: rbacChangeSettle + AllowedAccessTTL, want: all},
		{name: "the ClusterRole changed just before the answer: kept only AllowedAccessTTL",
			changes: []change{{clusterRole: "edit", at: 0}}, changesFirst: true, asked: []asked{{user: "u", namespace: "a", reason: byClusterRole, at: time.Second}},
			user: "u", ns: "a", after: time.Second + AllowedAccessTTL, want: all},
		{name: "the namespace changed a settle before the answer: kept RBACAllowedAccessTTL",
			changes: []change{{namespace: "a", at: 0}}, changesFirst: true, asked: []asked{{user: "u", namespace: "a", reason: byRole, at: rbacChangeSettle}},
			user: "u", ns: "a", after: rbacChangeSettle + AllowedAccessTTL, want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newAllowedAccess()
			applyChanges := func() {
				for _, ch := range tc.changes {
					if ch.namespace != "" {
						c.namespaceChanged(ch.namespace, t0.Add(ch.at))
					} else {
						c.clusterRoleChanged(ch.clusterRole, t0.Add(ch.at))
					}
				}
			}
			if tc.changesFirst {
				applyChanges()
			}
			for _, a := range tc.asked {
				c.record(a.user, a.namespace, a.uid, answers(a), t0.Add(a.at))
			}
			if !tc.changesFirst {
				applyChanges()
			}
			if diff := cmp.Diff(tc.want, c.unconfirmed(tc.user, tc.ns, tc.uid, all, t0.Add(tc.after))); diff != "" {
				t.Errorf("unconfirmed (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("an allowing answer asked before a denial was seen is not recorded", func(t *testing.T) {
		c := newAllowedAccess()
		c.record("u", "a", "", answers(asked{denied: []resources.Access{watch}}), t0.Add(time.Second))
		c.record("u", "a", "", answers(asked{}), t0)
		if diff := cmp.Diff([]resources.Access{watch}, c.unconfirmed("u", "a", "", all, t0.Add(2*time.Second))); diff != "" {
			t.Errorf("unconfirmed (-want +got):\n%s", diff)
		}
		c.record("u", "a", "", answers(asked{}), t0.Add(3*time.Second))
		if got := c.unconfirmed("u", "a", "", all, t0.Add(4*time.Second)); len(got) != 0 {
			t.Errorf("unconfirmed = %v after a later allowing answer, want none", got)
		}
	})
	t.Run("a failed watch forgets what RBAC granted, and keeps what is asked next an hour", func(t *testing.T) {
		c := newAllowedAccess()
		c.record("u", "a", "", answers(asked{reason: byRole}), t0)
		c.record("u", "webhook", "", answers(asked{reason: byWebhook}), t0)
		c.allChanged(t0.Add(time.Minute))
		if diff := cmp.Diff(all, c.unconfirmed("u", "a", "", all, t0.Add(time.Minute))); diff != "" {
			t.Errorf("RBAC's answers after a failed watch (-want +got):\n%s", diff)
		}
		if got := c.unconfirmed("u", "webhook", "", all, t0.Add(time.Minute)); len(got) != 0 {
			t.Errorf("another authorizer's answers after a failed watch: %v asked again, want none", got)
		}
		c.record("u", "a", "", answers(asked{reason: byRole}), t0.Add(90*time.Second))
		if diff := cmp.Diff(all, c.unconfirmed("u", "a", "", all, t0.Add(90*time.Second+AllowedAccessTTL))); diff != "" {
			t.Errorf("an answer asked just after a failed watch, an hour later (-want +got):\n%s", diff)
		}
	})
	t.Run("changes are pruned as they come", func(t *testing.T) {
		c := newAllowedAccess()
		c.namespaceChanged("old", t0)
		c.clusterRoleChanged("old", t0)
		c.namespaceChanged("new", t0.Add(AllowedAccessTTL))
		if _, ok := c.namespaceChangedAt["old"]; ok {
			t.Errorf("a namespace change an hour old is still kept: %v", c.namespaceChangedAt)
		}
		if len(c.clusterRoleChangedAt) != 0 {
			t.Errorf("a ClusterRole change an hour old is still kept: %v", c.clusterRoleChangedAt)
		}
	})
	t.Run("prune forgets the expired", func(t *testing.T) {
		c := newAllowedAccess()
		c.record("u", "gone", "", answers(asked{}), t0)
		c.record("u", "live", "", answers(asked{}), t0.Add(AllowedAccessTTL/2))
		c.namespaceChanged("old", t0)
		c.prune(t0.Add(AllowedAccessTTL))
		if len(c.byNamespace) != 1 || len(c.byNamespace["live"]) != len(all) {
			t.Errorf("entries after prune: %v, want the live namespace's %d", c.byNamespace, len(all))
		}
		if len(c.namespaceChangedAt) != 0 {
			t.Errorf("changes after prune: %v, want none", c.namespaceChangedAt)
		}
	})
	t.Run("a nil one asks for everything", func(t *testing.T) {
		var c *allowedAccess
		c.record("u", "a", "", answers(asked{}), t0)
		c.namespaceChanged("a", t0)
		c.clusterRoleChanged("edit", t0)
		c.allChanged(t0)
		c.prune(t0)
		if diff := cmp.Diff(all, c.unconfirmed("u", "a", "", all, t0)); diff != "" {
			t.Errorf("unconfirmed (-want +got):\n%s", diff)
		}
	})
}
