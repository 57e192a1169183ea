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

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

func TestRelease(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) *metav1.Time { at := metav1.NewTime(now.Add(-d)); return &at }
	withGuard := func(deadline *metav1.Duration) *v1alpha1.TektonStepSource {
		return &v1alpha1.TektonStepSource{Spec: v1alpha1.TektonStepSourceSpec{DeletionGuard: &v1alpha1.DeletionGuardSpec{Deadline: deadline}}}
	}
	deleted := withGuard(nil)
	deleted.DeletionTimestamp = ago(0)
	const grace = time.Minute
	tests := []struct {
		name        string
		src         *v1alpha1.TektonStepSource
		deleting    *metav1.Time
		want        bool
		wantRecheck time.Duration
	}{
		{"the source is gone", nil, nil, true, 0},
		{"the source is being deleted", deleted, nil, true, 0},
		{"the guard is off", &v1alpha1.TektonStepSource{}, nil, true, 0},
		{"guarded, not deleted: the adapter's", withGuard(nil), nil, false, 0},
		{"deleted within the default deadline and grace: looked at again then", withGuard(nil), ago(5 * time.Minute), false, 6*time.Minute + time.Second},
		{"deleted past the default deadline, grace and timestamp resolution", withGuard(nil), ago(11*time.Minute + time.Second), true, 0},
		{"deleted for the deadline and grace by its timestamp: a second more", withGuard(nil), ago(11 * time.Minute), false, time.Second},
		{"deleted within a 1h deadline", withGuard(&metav1.Duration{Duration: time.Hour}), ago(30 * time.Minute), false, 31*time.Minute + time.Second},
		{"deleted past a 1s deadline and grace", withGuard(&metav1.Duration{Duration: time.Second}), ago(62 * time.Second), true, 0},
		{"an invalid negative deadline counts as the default", withGuard(&metav1.Duration{Duration: -time.Hour}), ago(5 * time.Minute), false, 6*time.Minute + time.Second},
		{"an invalid 48h deadline counts as the 24h bound", withGuard(&metav1.Duration{Duration: 48 * time.Hour}), ago(25 * time.Hour), true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, recheck := release(tc.src, tc.deleting, now, grace)
			if got != tc.want || recheck != tc.wantRecheck {
				t.Errorf("release = %v, %s; want %v, %s", got, recheck, tc.want, tc.wantRecheck)
			}
		})
	}
}
