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

package balance

import (
	"testing"
	"time"
)

func TestShare(t *testing.T) {
	for _, tc := range []struct{ buckets, live, want int }{
		{buckets: 3, live: 3, want: 1},
		{buckets: 3, live: 2, want: 2},
		{buckets: 4, live: 2, want: 2},
		{buckets: 10, live: 4, want: 3},
		{buckets: 3, live: 1, want: 3},
		// A count of none (a Deployment not ready yet) still counts this replica.
		{buckets: 3, live: 0, want: 3},
		// More replicas than buckets (a rollout): one each, some idle.
		{buckets: 2, live: 5, want: 1},
	} {
		if got := Share(tc.buckets, tc.live); got != tc.want {
			t.Errorf("Share(%d buckets, %d live) = %d, want %d", tc.buckets, tc.live, got, tc.want)
		}
	}
}

func TestMayAcquire(t *testing.T) {
	const grace = 10 * time.Second
	for _, tc := range []struct {
		name       string
		led, share int
		freeFor    time.Duration
		want       bool
	}{
		{name: "below the share, just freed", led: 0, share: 1, freeFor: 0, want: true},
		{name: "at the share, just freed: left for a replica below it", led: 1, share: 1, freeFor: time.Second, want: false},
		{name: "at the share, free for the grace: nobody else took it", led: 1, share: 1, freeFor: grace, want: true},
		{name: "above the share, free for long", led: 2, share: 1, freeFor: time.Minute, want: true},
		{name: "above the share, just freed", led: 2, share: 1, freeFor: time.Second, want: false},
	} {
		if got := MayAcquire(tc.led, tc.share, tc.freeFor, grace); got != tc.want {
			t.Errorf("%s: MayAcquire = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestExcess(t *testing.T) {
	for _, tc := range []struct{ led, share, want int }{
		{led: 1, share: 1, want: 0},
		{led: 3, share: 1, want: 2},
		{led: 0, share: 2, want: 0},
	} {
		if got := Excess(tc.led, tc.share); got != tc.want {
			t.Errorf("Excess(%d led, share %d) = %d, want %d", tc.led, tc.share, got, tc.want)
		}
	}
}
