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

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

func TestCreatedObjects(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	src := func(uid string, generation int64) *v1alpha1.TektonStepSource {
		return &v1alpha1.TektonStepSource{ObjectMeta: metav1.ObjectMeta{UID: k8stypes.UID("uid-" + uid), Generation: generation}}
	}
	for _, tc := range []struct {
		name       string
		remembered *v1alpha1.TektonStepSource // at t0; nil: nothing
		asked      *v1alpha1.TektonStepSource
		after      time.Duration
		want       bool
	}{
		{name: "nothing created yet", asked: src("a", 1), want: false},
		{name: "just created", remembered: src("a", 1), asked: src("a", 1), after: time.Second, want: true},
		{name: "just before half the resync interval", remembered: src("a", 1), asked: src("a", 1), after: ResyncInterval/2 - time.Second, want: true},
		{name: "half the resync interval later: the periodic reconcile creates again", remembered: src("a", 1), asked: src("a", 1), after: ResyncInterval / 2, want: false},
		{name: "a new generation (spec.replicas may name other Leases)", remembered: src("a", 1), asked: src("a", 2), after: time.Second, want: false},
		{name: "another source", remembered: src("a", 1), asked: src("b", 1), after: time.Second, want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCreatedObjects()
			if tc.remembered != nil {
				c.remember(tc.remembered, t0)
			}
			if got := c.recent(tc.asked, t0.Add(tc.after)); got != tc.want {
				t.Errorf("recent = %t, want %t", got, tc.want)
			}
		})
	}

	t.Run("expired entries are forgotten", func(t *testing.T) {
		c := newCreatedObjects()
		c.remember(src("gone", 1), t0)
		c.remember(src("a", 1), t0.Add(ResyncInterval))
		if len(c.at) != 1 {
			t.Errorf("%d entries, want only the live source's", len(c.at))
		}
	})
	t.Run("a nil one remembers nothing", func(t *testing.T) {
		var c *createdObjects
		c.remember(src("a", 1), t0)
		if c.recent(src("a", 1), t0) {
			t.Error("recent = true")
		}
	})
}
