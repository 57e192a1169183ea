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

package ownership

import (
	"maps"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"knative.dev/pkg/hash"
	"knative.dev/pkg/reconciler"
)

// TestOwns: a bucket's TaskRuns are owned only while it is led and ready;
// a journal read that a demotion (or another promotion) outlived marks
// nothing ready.
func TestOwns(t *testing.T) {
	buckets := hash.NewBucketSet(sets.New("steps.00-of-01")).Buckets()
	bucket := buckets[0]
	key := types.NamespacedName{Namespace: "ci", Name: "build"}
	tests := []struct {
		name string
		// do runs with the leader callbacks and the Buckets.
		do        func(l *reconciler.LeaderAwareFuncs, b *Buckets)
		wantOwns  bool
		wantLeads bool
	}{{
		name: "not led",
		do:   func(*reconciler.LeaderAwareFuncs, *Buckets) {},
	}, {
		name: "led, its journal not read yet",
		do: func(l *reconciler.LeaderAwareFuncs, b *Buckets) {
			_ = l.Promote(bucket, nil)
			b.Unready(bucket)
		},
		wantLeads: true,
	}, {
		name: "led and ready",
		do: func(l *reconciler.LeaderAwareFuncs, b *Buckets) {
			_ = l.Promote(bucket, nil)
			gen, _ := b.Unready(bucket)
			b.MarkReady(bucket, gen)
		},
		wantOwns: true, wantLeads: true,
	}, {
		name: "a demotion during the read: the read marks nothing",
		do: func(l *reconciler.LeaderAwareFuncs, b *Buckets) {
			_ = l.Promote(bucket, nil)
			gen, _ := b.Unready(bucket)
			b.Unready(bucket)
			_ = l.Promote(bucket, nil)
			b.MarkReady(bucket, gen)
		},
		wantLeads: true,
	}, {
		name: "ready, then demoted",
		do: func(l *reconciler.LeaderAwareFuncs, b *Buckets) {
			_ = l.Promote(bucket, nil)
			gen, _ := b.Unready(bucket)
			b.MarkReady(bucket, gen)
			l.Demote(bucket)
			if _, was := b.Unready(bucket); !was {
				t.Error("Unready at demotion: not ready before")
			}
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := &reconciler.LeaderAwareFuncs{}
			b := Elected(l, 1)
			tc.do(l, b)
			if got := b.Owns(key); got != tc.wantOwns {
				t.Errorf("Owns = %v, want %v", got, tc.wantOwns)
			}
			if got := b.Leads(key); got != tc.wantLeads {
				t.Errorf("Leads = %v, want %v", got, tc.wantLeads)
			}
			parts, n := b.Parts()
			if want := tc.wantOwns; (parts["00-of-01"] != nil) != want || n != 1 {
				t.Errorf("Parts = %v keys, %d; want part 00-of-01 %v", slices.Collect(maps.Keys(parts)), n, want)
			}
		})
	}
}

// TestAll: without leader election every TaskRun is owned, in one part.
func TestAll(t *testing.T) {
	b := All()
	key := types.NamespacedName{Namespace: "ci", Name: "build"}
	if !b.Owns(key) || !b.Leads(key) {
		t.Error("All does not own a TaskRun")
	}
	if parts, n := b.Parts(); n != 1 || len(parts) != 1 || parts["00-of-01"] == nil || !parts["00-of-01"](key) {
		t.Errorf("Parts = %d parts of %d, want 00-of-01 with everything", len(parts), n)
	}
}
