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

package guard

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestGuardStep(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	deletedAgo := func(d time.Duration) *metav1.Time { at := metav1.NewTime(now.Add(-d)); return &at }
	const deadline = 10 * time.Minute
	tests := []struct {
		name        string
		state       guardState
		want        guardAction
		wantRecheck time.Duration
	}{
		{"off, not guarded: nothing", guardState{}, guardKeep, 0},
		{"off, guarded (turned off): removed", guardState{guarded: true}, guardRemove, 0},
		{"off, guarded and deleting: removed", guardState{guarded: true, deleting: deletedAgo(time.Second)}, guardRemove, 0},
		{"on, events to record: added", guardState{enabled: true, deadline: deadline}, guardAdd, 0},
		{"on, already guarded: kept", guardState{enabled: true, deadline: deadline, guarded: true}, guardKeep, 0},
		{"on, settled and guarded: removed", guardState{enabled: true, deadline: deadline, guarded: true, settled: true}, guardRemove, 0},
		{"on, settled before it was ever guarded: nothing", guardState{enabled: true, deadline: deadline, settled: true}, guardKeep, 0},
		{"on, deleting and guarded within the deadline: kept, looked at again at the deadline",
			guardState{enabled: true, deadline: deadline, guarded: true, deleting: deletedAgo(4 * time.Minute)}, guardKeep, 6*time.Minute + time.Second},
		{"on, deleting and guarded for the deadline by its timestamp: kept (stored in whole seconds)",
			guardState{enabled: true, deadline: deadline, guarded: true, deleting: deletedAgo(deadline)}, guardKeep, time.Second},
		{"on, deleting and guarded past the deadline: removed",
			guardState{enabled: true, deadline: deadline, guarded: true, deleting: deletedAgo(deadline + time.Second)}, guardRemove, 0},
		{"on, deleting and settled: removed at once",
			guardState{enabled: true, deadline: deadline, guarded: true, settled: true, deleting: deletedAgo(time.Second)}, guardRemove, 0},
		{"on, deleting, never guarded: nothing (no finalizer may be added now)",
			guardState{enabled: true, deadline: deadline, deleting: deletedAgo(time.Second)}, guardKeep, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, recheck := guardStep(tc.state, now)
			if got != tc.want || recheck != tc.wantRecheck {
				t.Errorf("guardStep(%+v) = %v, %s; want %v, %s", tc.state, got, recheck, tc.want, tc.wantRecheck)
			}
		})
	}
}
