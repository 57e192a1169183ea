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

// Package ownership says which TaskRuns a replica of a source handles.
// Without leader election it handles every one. With it, the TaskRuns are
// split into buckets, each led by one replica at a time, and a replica
// handles the TaskRuns of a bucket only while it leads the bucket and has
// read the bucket's journal since its promotion (the bucket is ready):
// before, it does not know how far the previous leader got.
package ownership

import (
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"knative.dev/pkg/reconciler"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/replay"
)

// Buckets is what a replica owns. Its lock is a leaf: nothing is called
// with it held.
type Buckets struct {
	// leader is nil without leader election.
	leader *reconciler.LeaderAwareFuncs
	// parts is the number of buckets.
	parts uint32

	mu sync.RWMutex
	// ready are the led buckets whose journal was read (or could not be,
	// which is logged) since their promotion; generation counts each
	// bucket's promotions and demotions, so a read outlived by a demotion
	// marks nothing.
	ready      map[string]reconciler.Bucket
	generation map[string]uint64
}

// All owns every TaskRun: a source without leader election.
func All() *Buckets { return &Buckets{parts: 1} }

// Elected owns the TaskRuns of the buckets leader leads, once ready; parts
// is the number of buckets.
func Elected(leader *reconciler.LeaderAwareFuncs, parts uint32) *Buckets {
	return &Buckets{leader: leader, parts: parts, ready: map[string]reconciler.Bucket{}, generation: map[string]uint64{}}
}

// Owns reports whether this replica handles the TaskRun: it leads the
// TaskRun's bucket and has read the bucket's journal.
func (b *Buckets) Owns(key types.NamespacedName) bool {
	if b.leader == nil {
		return true
	}
	if !b.leader.IsLeaderFor(key) {
		return false
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, bucket := range b.ready {
		if bucket.Has(key) {
			return true
		}
	}
	return false
}

// Leads reports whether this replica leads the TaskRun's bucket, ready or
// not: a TaskRun deleted while the bucket's journal is read is still its
// own.
func (b *Buckets) Leads(key types.NamespacedName) bool {
	return b.leader == nil || b.leader.IsLeaderFor(key)
}

// Unready marks the bucket's journal as not read (at promotion, before the
// read, and at demotion) and returns the bucket's new generation and
// whether it was ready until now.
func (b *Buckets) Unready(bucket reconciler.Bucket) (generation uint64, wasReady bool) {
	if b.leader == nil {
		return 0, true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	_, wasReady = b.ready[bucket.Name()]
	delete(b.ready, bucket.Name())
	b.generation[bucket.Name()]++
	return b.generation[bucket.Name()], wasReady
}

// MarkReady records that the bucket's journal was read, unless the bucket
// was demoted (or promoted again) since the read began (generation).
func (b *Buckets) MarkReady(bucket reconciler.Bucket, generation uint64) {
	if b.leader == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.generation[bucket.Name()] == generation {
		b.ready[bucket.Name()] = bucket
	}
}

// Parts are the ready buckets, by their part (what ends a bucket's Lease
// name, adaptercontract.LeaseName), each with what it has; and the number
// of parts. Without leader election, one part has everything.
func (b *Buckets) Parts() (map[string]func(types.NamespacedName) bool, uint32) {
	if b.leader == nil {
		return map[string]func(types.NamespacedName) bool{replay.Part(0, 1): func(types.NamespacedName) bool { return true }}, 1
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	parts := make(map[string]func(types.NamespacedName) bool, len(b.ready))
	for name, bucket := range b.ready {
		parts[name[strings.LastIndex(name, ".")+1:]] = bucket.Has
	}
	return parts, b.parts
}

// Leader is what the elector drives: it promotes and demotes the buckets
// (nil without leader election).
func (b *Buckets) Leader() *reconciler.LeaderAwareFuncs { return b.leader }
