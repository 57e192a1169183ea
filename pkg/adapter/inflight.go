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

package adapter

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// inFlight counts the deliveries under way per TaskRun. A replica that
// lets a bucket go waits for the bucket's deliveries before it writes
// their progress: a send the sink acknowledges after that write would be
// recorded nowhere the next leader reads, and sent again.
type inFlight struct {
	mu    sync.Mutex
	count map[types.NamespacedName]int
	// ended is closed, and replaced, whenever a delivery ends.
	ended chan struct{}
}

func newInFlight() *inFlight {
	return &inFlight{count: map[types.NamespacedName]int{}, ended: make(chan struct{})}
}

// begin registers a delivery of the TaskRun's. Register before checking
// that the replica still handles the TaskRun: a bucket marked as let go
// before the check stops the delivery, one marked after it waits for it.
func (f *inFlight) begin(key types.NamespacedName) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count[key]++
}

// end unregisters a delivery begun with begin.
func (f *inFlight) end(key types.NamespacedName) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.count[key]--; f.count[key] <= 0 {
		delete(f.count, key)
	}
	close(f.ended)
	f.ended = make(chan struct{})
}

// wait returns once no delivery of a TaskRun that matches is under way
// (true), or when ctx is done first (false).
func (f *inFlight) wait(ctx context.Context, match func(types.NamespacedName) bool) bool {
	for {
		f.mu.Lock()
		busy := false
		for key := range f.count {
			if match(key) {
				busy = true
				break
			}
		}
		ended := f.ended
		f.mu.Unlock()
		if !busy {
			return true
		}
		select {
		case <-ended:
		case <-ctx.Done():
			return false
		}
	}
}
