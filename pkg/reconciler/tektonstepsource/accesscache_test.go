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
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tektonstep/tekton-step-source/pkg/reconciler/tektonstepsource/resources"
)

func TestAllowedAccess(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	list := resources.Access{Verb: "list", Group: "tekton.dev", Resource: "taskruns"}
	watch := resources.Access{Verb: "watch", Group: "tekton.dev", Resource: "taskruns"}
	logs := resources.Access{Verb: "get", Resource: "pods", Subresource: "log"}
	all := []resources.Access{list, watch, logs}
	type answer struct {
		user, namespace string
		denied          []resources.Access
	}
	for _, tc := range []struct {
		name     string
		answered []answer // at t0, for all
		user, ns string
		after    time.Duration
		want     []resources.Access
	}{
		{name: "nothing asked yet", user: "u", ns: "a", want: all},
		{name: "allowed: not asked again", answered: []answer{{"u", "a", nil}}, user: "u", ns: "a", after: time.Minute, want: nil},
		{name: "a denial is asked again", answered: []answer{{"u", "a", []resources.Access{logs}}}, user: "u", ns: "a", after: time.Second, want: []resources.Access{logs}},
		{name: "allowed, then denied: asked again", answered: []answer{{"u", "a", nil}, {"u", "a", []resources.Access{watch}}}, user: "u", ns: "a", after: time.Second, want: []resources.Access{watch}},
		{name: "expired after AllowedAccessTTL", answered: []answer{{"u", "a", nil}}, user: "u", ns: "a", after: AllowedAccessTTL, want: all},
		{name: "just before it expires", answered: []answer{{"u", "a", nil}}, user: "u", ns: "a", after: AllowedAccessTTL - time.Second, want: nil},
		{name: "another namespace", answered: []answer{{"u", "a", nil}}, user: "u", ns: "b", want: all},
		{name: "another account", answered: []answer{{"u", "a", nil}}, user: "v", ns: "a", want: all},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newAllowedAccess()
			for _, a := range tc.answered {
				c.allowed(a.user, a.namespace, all, a.denied, t0)
			}
			if diff := cmp.Diff(tc.want, c.unconfirmed(tc.user, tc.ns, all, t0.Add(tc.after))); diff != "" {
				t.Errorf("unconfirmed (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("an allowing answer asked before a denial was seen is not recorded", func(t *testing.T) {
		c := newAllowedAccess()
		c.allowed("u", "a", all, []resources.Access{watch}, t0.Add(time.Second))
		c.allowed("u", "a", all, nil, t0)
		if diff := cmp.Diff([]resources.Access{watch}, c.unconfirmed("u", "a", all, t0.Add(2*time.Second))); diff != "" {
			t.Errorf("unconfirmed (-want +got):\n%s", diff)
		}
		c.allowed("u", "a", all, nil, t0.Add(3*time.Second))
		if got := c.unconfirmed("u", "a", all, t0.Add(4*time.Second)); len(got) != 0 {
			t.Errorf("unconfirmed = %v after a later allowing answer, want none", got)
		}
	})
	t.Run("prune forgets the expired", func(t *testing.T) {
		c := newAllowedAccess()
		c.allowed("u", "gone", all, nil, t0)
		c.allowed("u", "live", all, nil, t0.Add(AllowedAccessTTL/2))
		c.prune(t0.Add(AllowedAccessTTL))
		if len(c.expires) != len(all) {
			t.Errorf("%d entries after prune, want the live namespace's %d", len(c.expires), len(all))
		}
	})
	t.Run("a nil one asks for everything", func(t *testing.T) {
		var c *allowedAccess
		c.allowed("u", "a", all, nil, t0)
		c.prune(t0)
		if diff := cmp.Diff(all, c.unconfirmed("u", "a", all, t0)); diff != "" {
			t.Errorf("unconfirmed (-want +got):\n%s", diff)
		}
	})
}
