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
	"slices"
	"sync"
	"time"

	"github.com/tektonstep/tekton-step-source/pkg/reconciler/tektonstepsource/resources"
)

// AllowedAccessTTL is how long a SubjectAccessReview that allowed a
// user-provided account an access in one of the other namespaces a
// namespaceSelector selects is taken as still true. Without it, a source
// over 1,000 namespaces granted by Roles there would send 4,000 reviews per
// reconcile (48,000 an hour from the periodic reconciles alone); with it,
// about one per namespace and access an hour. The source's own namespace,
// the cluster-wide checks and every refusal are not remembered: those are
// few, and a grant must show soon.
const AllowedAccessTTL = time.Hour

// allowedAccess remembers the reviews that allowed an access, by account,
// namespace and access, until they expire.
// The namespace is named with its UID, so that a namespace deleted and
// created again (its grants gone) is asked again.
type allowedAccess struct {
	mu      sync.Mutex
	expires map[allowedKey]time.Time
	// deniedAt is when an access was last seen denied: an allowing answer
	// asked before that (by another worker, for another source of the same
	// account) must not be recorded over it.
	deniedAt map[allowedKey]time.Time
}

type allowedKey struct {
	user, namespace string
	access          resources.Access
}

func newAllowedAccess() *allowedAccess {
	return &allowedAccess{expires: map[allowedKey]time.Time{}, deniedAt: map[allowedKey]time.Time{}}
}

// unconfirmed is what of accesses has no unexpired allowing review for
// user in namespace: what to ask the apiserver. A nil allowedAccess
// remembers nothing.
func (c *allowedAccess) unconfirmed(user, namespace string, accesses []resources.Access, now time.Time) []resources.Access {
	if c == nil {
		return accesses
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []resources.Access
	for _, a := range accesses {
		if exp, ok := c.expires[allowedKey{user, namespace, a}]; !ok || !now.Before(exp) {
			out = append(out, a)
		}
	}
	return out
}

// allowed records that the apiserver, asked at now, allowed user each of
// accesses in namespace, except those it denied.
func (c *allowedAccess) allowed(user, namespace string, accesses, denied []resources.Access, now time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range accesses {
		key := allowedKey{user, namespace, a}
		if slices.Contains(denied, a) {
			delete(c.expires, key)
			c.deniedAt[key] = now
			continue
		}
		if at, ok := c.deniedAt[key]; ok && !now.After(at) {
			continue
		}
		delete(c.deniedAt, key)
		c.expires[key] = now.Add(AllowedAccessTTL)
	}
}

// prune forgets the expired entries (namespaces and sources gone).
func (c *allowedAccess) prune(now time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, exp := range c.expires {
		if !now.Before(exp) {
			delete(c.expires, key)
		}
	}
	for key, at := range c.deniedAt {
		if now.Sub(at) >= AllowedAccessTTL {
			delete(c.deniedAt, key)
		}
	}
}
