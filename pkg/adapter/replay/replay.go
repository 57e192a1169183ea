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

// Package replay holds the decisions of a replay (spec.replays): which
// transitions of a TaskRun it re-sends, which parts of it are left to do,
// and what status.replays shows. It is pure, so it is table-tested without
// an apiserver; the Runner (runner.go) carries the decisions out.
//
// A replay is split in parts as the TaskRuns are split among the replicas:
// one part per bucket, "<i>-of-<n>" (one part, "00-of-01", without
// replicas). Each part is recorded in the source's journal once done, so a
// replay is done once per name, across restarts; if the replicas change
// before it is done, the parts of the new split are done.
package replay

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// Part names part i of n.
func Part(i, n uint32) string { return fmt.Sprintf("%02d-of-%02d", i, n) }

// Parts lists the parts of a split in n (n ≥ 1).
func Parts(n uint32) []string {
	out := make([]string, 0, n)
	for i := range max(n, 1) {
		out = append(out, Part(i, max(n, 1)))
	}
	return out
}

// CoversTaskRun reports whether the replay goes through the TaskRun of
// that name.
func CoversTaskRun(r v1alpha1.ReplaySpec, name string) bool {
	return r.TaskRun == "" || r.TaskRun == name
}

// Select lists what the replay re-sends of a TaskRun, in order: of all its
// transitions (every attempt, also those that ended before the source
// existed), those of the replay's types whose time is in its window,
// except those the live stream has yet to send (pending): a replay
// re-sends, the live stream sends.
func Select(all []transitions.Transition, r v1alpha1.ReplaySpec, pending func(transitions.Transition) bool) []transitions.Transition {
	var out []transitions.Transition
	for _, t := range all {
		if pending(t) || t.Time.Before(&r.Since) || (r.Until != nil && !t.Time.Before(r.Until)) {
			continue
		}
		if len(r.Types) > 0 && !slices.Contains(r.Types, string(t.Kind)) {
			continue
		}
		out = append(out, t)
	}
	return out
}

// Records are the journal's records of the replays' parts.
type Records map[checkpoint.ReplayPartKey]checkpoint.ReplayPart

// doneSplit is the split in which every part of the replay succeeded, or
// nil: the replay is done whatever the replicas are now.
func (rs Records) doneSplit(replay string) []string {
	splits := map[uint32]bool{}
	for k := range rs {
		var i, n uint32
		if k.Replay == replay {
			if _, err := fmt.Sscanf(k.Part, "%02d-of-%02d", &i, &n); err == nil && n > 0 {
				splits[n] = true
			}
		}
	}
	for n := range splits {
		parts := Parts(n)
		if !slices.ContainsFunc(parts, func(p string) bool {
			return rs[checkpoint.ReplayPartKey{Replay: replay, Part: p}].State != v1alpha1.ReplaySucceeded
		}) {
			return parts
		}
	}
	return nil
}

// ToDo lists the parts of the replays still to be done, of the parts given
// (those this replica leads), in the order of spec.replays.
func ToDo(specs []v1alpha1.ReplaySpec, rs Records, parts []string) []checkpoint.ReplayPartKey {
	var out []checkpoint.ReplayPartKey
	for _, r := range specs {
		if rs.doneSplit(r.Name) != nil {
			continue
		}
		for _, p := range parts {
			k := checkpoint.ReplayPartKey{Replay: r.Name, Part: p}
			if rs[k].State != v1alpha1.ReplaySucceeded {
				out = append(out, k)
			}
		}
	}
	return out
}

// Obsolete lists the records to remove: of replays no longer in
// spec.replays (listing one again replays it again), and, for a replay not
// done yet, of parts of another split than the current one, n parts.
func Obsolete(specs []v1alpha1.ReplaySpec, rs Records, n uint32) []checkpoint.ReplayPartKey {
	current := Parts(n)
	var out []checkpoint.ReplayPartKey
	for k := range rs {
		i := slices.IndexFunc(specs, func(r v1alpha1.ReplaySpec) bool { return r.Name == k.Replay })
		if i < 0 || (rs.doneSplit(k.Replay) == nil && !slices.Contains(current, k.Part)) {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b checkpoint.ReplayPartKey) int {
		if a.Replay != b.Replay {
			return cmp.Compare(a.Replay, b.Replay)
		}
		return cmp.Compare(a.Part, b.Part)
	})
	return out
}

// Status is status.replays: for each replay of spec.replays, Pending until
// a part of the current split (n parts) started, Succeeded once every part
// of a split succeeded, else Running; the counts add up the succeeded parts.
func Status(specs []v1alpha1.ReplaySpec, rs Records, n uint32) []v1alpha1.ReplayStatus {
	var out []v1alpha1.ReplayStatus
	for _, r := range specs {
		st := v1alpha1.ReplayStatus{Name: r.Name, State: v1alpha1.ReplayPending}
		parts := rs.doneSplit(r.Name)
		if parts != nil {
			st.State = v1alpha1.ReplaySucceeded
		} else {
			parts = Parts(n)
		}
		var finished time.Time
		for _, p := range parts {
			rec, ok := rs[checkpoint.ReplayPartKey{Replay: r.Name, Part: p}]
			if !ok {
				continue
			}
			if st.State == v1alpha1.ReplayPending {
				st.State = v1alpha1.ReplayRunning
			}
			if rec.State != v1alpha1.ReplaySucceeded {
				continue
			}
			st.TaskRuns += rec.TaskRuns
			st.Events += rec.Events
			if rec.Finished != nil && rec.Finished.After(finished) {
				finished = rec.Finished.Time
			}
		}
		if st.State == v1alpha1.ReplaySucceeded && !finished.IsZero() {
			st.CompletionTime = &metav1.Time{Time: finished}
		}
		out = append(out, st)
	}
	return out
}
