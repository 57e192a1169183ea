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
	"sync"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"k8s.io/apimachinery/pkg/types"
)

// handledRuns holds, per TaskRun name, the TaskRun (UID) the watch's
// handlers last saw there. An informer updates its cache before it calls
// the handlers: a delivery that finds in the cache a successor of the same
// name whose handler has not run yet would also not find the deleted one
// that the handler is about to keep (deletedRuns), and would send the
// successor's events first. It waits for the handlers instead. (Several
// TaskRuns of one name created and deleted while the handlers lag are
// each delivered, the first deleted one before the live one, but one
// deleted later may come after it.)
type handledRuns struct {
	mu    sync.Mutex
	byKey map[types.NamespacedName]seenRun
}

// seenRun is the TaskRun a name's handlers last saw, and since when a
// delivery waits for them to see another.
type seenRun struct {
	uid     types.UID
	waiting time.Time
}

const (
	// handlerLag is how long a delivery waits for the handlers to catch
	// up, before it looks again.
	handlerLag = 50 * time.Millisecond
	// handlerLagLimit bounds the wait: handlers that did not catch up in
	// this long are not about to (a watch that ended), and the
	// successor's events are not held longer.
	handlerLagLimit = 30 * time.Second
)

func newHandledRuns() *handledRuns {
	return &handledRuns{byKey: map[types.NamespacedName]seenRun{}}
}

// saw records the TaskRun an add or update handler saw.
func (h *handledRuns) saw(tr *pipelinev1.TaskRun) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.byKey[types.NamespacedName{Namespace: tr.Namespace, Name: tr.Name}] = seenRun{uid: tr.UID}
}

// gone forgets a deleted TaskRun, unless its successor was seen already.
func (h *handledRuns) gone(tr *pipelinev1.TaskRun) {
	h.mu.Lock()
	defer h.mu.Unlock()
	key := types.NamespacedName{Namespace: tr.Namespace, Name: tr.Name}
	if h.byKey[key].uid == tr.UID {
		delete(h.byKey, key)
	}
}

// behind reports whether the handlers last saw another TaskRun of the name
// than uid: the one in the cache is not handled yet. After handlerLagLimit
// of such answers it no longer waits.
func (h *handledRuns) behind(key types.NamespacedName, uid types.UID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen, ok := h.byKey[key]
	if !ok || seen.uid == uid {
		return false
	}
	if seen.waiting.IsZero() {
		seen.waiting = time.Now()
		h.byKey[key] = seen
	}
	return time.Since(seen.waiting) < handlerLagLimit
}

// drop forgets the names that match (a namespace no longer watched).
func (h *handledRuns) drop(match func(types.NamespacedName) bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for key := range h.byKey {
		if match(key) {
			delete(h.byKey, key)
		}
	}
}
