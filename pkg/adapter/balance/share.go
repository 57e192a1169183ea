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

import "time"

// This file holds the elector's decisions, free of I/O.

// Share is how many buckets one replica leads when live replicas share
// them: buckets/live rounded up, at least 1 (a replica that sees no live
// replica still counts itself) and at most every bucket.
func Share(buckets, live int) int {
	if live < 1 {
		live = 1
	}
	share := (buckets + live - 1) / live
	return max(1, min(share, buckets))
}

// MayAcquire reports whether a replica leading led buckets may take a free
// one: always below its share; at or above it only once the bucket has
// been without a leader for grace, so that a bucket whose leader died is
// led again even while the live count has not caught up (a pod that is
// gone but still counted), and a replica that just started gets the
// bucket a busier one let go.
func MayAcquire(led, share int, freeFor, grace time.Duration) bool {
	return led < share || freeFor >= grace
}

// Excess is how many of its buckets a replica leading led should let go to
// come down to its share.
func Excess(led, share int) int {
	return max(0, led-share)
}
