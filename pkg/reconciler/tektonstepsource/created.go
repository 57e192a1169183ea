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
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// createdObjects remembers which sources' adapter objects (journal and
// Leases, which the controller creates blindly as it may not read them)
// were created recently, so that the reconciles that follow a source's
// creation (its status echo, its Deployment becoming available) do not
// send the same creates again. An entry lasts half the ResyncInterval, so
// each periodic reconcile still recreates a deleted one; a new generation
// (spec.replicas changes the Leases) creates at once.
type createdObjects struct {
	mu sync.Mutex
	at map[types.UID]createdAt
}

type createdAt struct {
	generation int64
	when       time.Time
}

func newCreatedObjects() *createdObjects { return &createdObjects{at: map[types.UID]createdAt{}} }

// recent: src's adapter objects were created for its generation less than
// half a ResyncInterval ago. A nil createdObjects remembers nothing.
func (c *createdObjects) recent(src *v1alpha1.TektonStepSource, now time.Time) bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.at[src.UID]
	return ok && e.generation == src.Generation && now.Sub(e.when) < ResyncInterval/2
}

// remember records that src's adapter objects exist now, and forgets the
// entries that have expired (deleted sources').
func (c *createdObjects) remember(src *v1alpha1.TektonStepSource, now time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for uid, e := range c.at {
		if now.Sub(e.when) >= ResyncInterval/2 {
			delete(c.at, uid)
		}
	}
	c.at[src.UID] = createdAt{generation: src.Generation, when: now}
}
