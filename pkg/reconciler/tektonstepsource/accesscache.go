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
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tektonstep/tekton-step-source/pkg/reconciler/tektonstepsource/resources"
)

// What a SubjectAccessReview that allowed a user-provided account an access
// in one of the other namespaces a namespaceSelector selects is taken as
// still true for. Without this, a source over 1,000 namespaces granted by
// Roles there would send 4,000 reviews per reconcile (48,000 an hour from
// the periodic reconciles alone). The source's own namespace, the
// cluster-wide checks and every refusal are not remembered: those are few,
// and a grant must show soon.
const (
	// RBACAllowedAccessTTL: allowed by a RoleBinding of the namespace (the
	// RBAC authorizer's reason says so). The controller watches what such
	// a grant rests on (the namespace's Roles and RoleBindings, the
	// ClusterRoles) and forgets the answer when one of them changes, so
	// that a revoked grant shows at the next reconcile; the TTL only
	// bounds what a missed change could leave, and a denial by an
	// authorizer placed before RBAC, which leaves RBAC's answer as it was.
	RBACAllowedAccessTTL = 24 * time.Hour
	// AllowedAccessTTL: allowed otherwise (another authorizer, whose
	// grants the controller cannot watch), or asked within
	// rbacChangeSettle of a change of what the grant rests on.
	AllowedAccessTTL = time.Hour
	// rbacChangeSettle: another apiserver of the cluster may answer from
	// an authorizer cache that has not seen the change the controller's
	// watch reported yet.
	rbacChangeSettle = time.Minute
)

// rbacRoleBindingGrant matches the reason the RBAC authorizer gives for an
// access a RoleBinding allowed
// (k8s.io/kubernetes/pkg/registry/rbac/validation's roleBindingDescriber):
// RBAC: allowed by RoleBinding "<name>/<namespace>" of <Role|ClusterRole> "<name>" to ...
// The names are Go-quoted (%q): an RBAC name may hold a quote or a
// backslash, escaped there.
var rbacRoleBindingGrant = regexp.MustCompile(`^RBAC: allowed by RoleBinding ("(?:[^"\\]|\\.)*") of (Role|ClusterRole) ("(?:[^"\\]|\\.)*") to `)

// grant is what an allowing review rests on, as far as the controller
// watches it.
type grant struct {
	// rbac: a RoleBinding of the namespace.
	rbac bool
	// clusterRole is the ClusterRole that RoleBinding refers to ("" for a
	// Role of the namespace).
	clusterRole string
}

// grantOf reads an allowing review's reason for an access in namespace.
func grantOf(reason, namespace string) grant {
	m := rbacRoleBindingGrant.FindStringSubmatch(reason)
	if m == nil {
		return grant{}
	}
	binding, err := strconv.Unquote(m[1])
	if err != nil {
		return grant{}
	}
	// "<name>/<namespace>": a namespace name holds no slash.
	if i := strings.LastIndexByte(binding, '/'); i < 0 || binding[i+1:] != namespace {
		return grant{}
	}
	if m[2] == "Role" {
		return grant{rbac: true}
	}
	role, err := strconv.Unquote(m[3])
	if err != nil {
		return grant{}
	}
	return grant{rbac: true, clusterRole: role}
}

// answer is one review's outcome: allowed, with its reason, or not.
type answer struct {
	access  resources.Access
	allowed bool
	reason  string
}

// allowedAccess remembers the reviews that allowed an access, by namespace,
// account and access, until they expire or what they rest on changes.
// A namespace's entries carry its UID, so that a namespace deleted and
// created again (its grants gone) is asked again.
type allowedAccess struct {
	mu sync.Mutex
	// byNamespace: by namespace name, so that a change of its Roles or
	// RoleBindings forgets its entries at once.
	byNamespace map[string]map[allowedKey]allowedEntry
	// deniedAt is when an access was last seen denied: an allowing answer
	// asked before that (by another worker, for another source of the same
	// account) must not be recorded over it.
	deniedAt map[allowedKey]time.Time
	// changedAt: when a change of a namespace's Roles or RoleBindings
	// (namespaceChanged), or of a ClusterRole (clusterRoleChanged), was
	// seen, or when a watch of them failed (anything may have changed
	// unseen: allChanged).
	namespaceChangedAt, clusterRoleChangedAt map[string]time.Time
	allChangedAt                             time.Time
	// changesPrunedAt: the change maps are pruned as changes come too,
	// also when no source asks (prune runs in reconciles only).
	changesPrunedAt time.Time
}

type allowedKey struct {
	namespace, uid, user string
	access               resources.Access
}

type allowedEntry struct {
	expires     time.Time
	clusterRole string
	// otherAuthorizer: not a RoleBinding's grant (see grantOf).
	otherAuthorizer bool
}

func newAllowedAccess() *allowedAccess {
	return &allowedAccess{
		byNamespace:          map[string]map[allowedKey]allowedEntry{},
		deniedAt:             map[allowedKey]time.Time{},
		namespaceChangedAt:   map[string]time.Time{},
		clusterRoleChangedAt: map[string]time.Time{},
	}
}

// unconfirmed is what of accesses has no unexpired allowing review for
// user in the namespace (name and UID): what to ask the apiserver. A nil
// allowedAccess remembers nothing.
func (c *allowedAccess) unconfirmed(user, namespace, uid string, accesses []resources.Access, now time.Time) []resources.Access {
	if c == nil {
		return accesses
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []resources.Access
	for _, a := range accesses {
		if e, ok := c.byNamespace[namespace][allowedKey{namespace, uid, user, a}]; !ok || !now.Before(e.expires) {
			out = append(out, a)
		}
	}
	return out
}

// record keeps the answers the apiserver gave, asked at askedAt, for user
// in the namespace (name and UID).
func (c *allowedAccess) record(user, namespace, uid string, answers []answer, askedAt time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range answers {
		key := allowedKey{namespace, uid, user, a.access}
		if !a.allowed {
			delete(c.byNamespace[namespace], key)
			c.deniedAt[key] = askedAt
			continue
		}
		if at, ok := c.deniedAt[key]; ok && !askedAt.After(at) {
			continue
		}
		delete(c.deniedAt, key)
		g := grantOf(a.reason, namespace)
		ttl, ok := c.ttl(g, namespace, askedAt)
		if !ok {
			continue
		}
		if c.byNamespace[namespace] == nil {
			c.byNamespace[namespace] = map[allowedKey]allowedEntry{}
		}
		c.byNamespace[namespace][key] = allowedEntry{expires: askedAt.Add(ttl), clusterRole: g.clusterRole, otherAuthorizer: !g.rbac}
	}
}

// ttl is how long an allowing answer asked at askedAt that rests on g is
// kept: not at all when what it rests on changed since it was asked (the
// answer may predate the change), AllowedAccessTTL when that changed less
// than rbacChangeSettle before, or when it is not a grant the controller
// watches.
func (c *allowedAccess) ttl(g grant, namespace string, askedAt time.Time) (time.Duration, bool) {
	if !g.rbac {
		return AllowedAccessTTL, true
	}
	changes := []time.Time{c.allChangedAt, c.namespaceChangedAt[namespace]}
	if g.clusterRole != "" {
		changes = append(changes, c.clusterRoleChangedAt[g.clusterRole])
	}
	ttl := RBACAllowedAccessTTL
	for _, at := range changes {
		switch {
		case at.IsZero():
		case at.After(askedAt):
			return 0, false
		case askedAt.Before(at.Add(rbacChangeSettle)):
			ttl = AllowedAccessTTL
		}
	}
	return ttl, true
}

// namespaceChanged forgets what was allowed in the namespace: one of its
// Roles or RoleBindings changed, was created or was deleted.
func (c *allowedAccess) namespaceChanged(namespace string, now time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byNamespace, namespace)
	c.namespaceChangedAt[namespace] = now
	c.pruneChangesLocked(now, false)
}

// clusterRoleChanged forgets what RoleBindings to the ClusterRole allowed.
func (c *allowedAccess) clusterRoleChanged(name string, now time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deleteLocked(func(e allowedEntry) bool { return e.clusterRole == name })
	c.clusterRoleChangedAt[name] = now
	c.pruneChangesLocked(now, false)
}

// allChanged forgets every answer that rests on RBAC: a watch of the RBAC
// objects failed, and until it lists them again any change goes unseen.
// Answers asked meanwhile are kept AllowedAccessTTL only.
func (c *allowedAccess) allChanged(now time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deleteLocked(func(e allowedEntry) bool { return !e.otherAuthorizer })
	c.allChangedAt = now
}

// deleteLocked forgets the entries gone says to.
func (c *allowedAccess) deleteLocked(gone func(allowedEntry) bool) {
	for ns, entries := range c.byNamespace {
		for key, e := range entries {
			if gone(e) {
				delete(entries, key)
			}
		}
		if len(entries) == 0 {
			delete(c.byNamespace, ns)
		}
	}
}

// prune forgets the expired entries (namespaces and sources gone), and the
// denials and changes too old to matter.
func (c *allowedAccess) prune(now time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deleteLocked(func(e allowedEntry) bool { return !now.Before(e.expires) })
	for key, at := range c.deniedAt {
		if now.Sub(at) >= AllowedAccessTTL {
			delete(c.deniedAt, key)
		}
	}
	c.pruneChangesLocked(now, true)
}

// pruneChangesLocked forgets the changes seen AllowedAccessTTL ago or more
// (kept longer than rbacChangeSettle: an answer asked before a change may
// be recorded after it, a slow review), at most once a rbacChangeSettle
// unless now.
func (c *allowedAccess) pruneChangesLocked(now time.Time, force bool) {
	if !force && now.Sub(c.changesPrunedAt) < rbacChangeSettle {
		return
	}
	c.changesPrunedAt = now
	for _, changed := range []map[string]time.Time{c.namespaceChangedAt, c.clusterRoleChangedAt} {
		for name, at := range changed {
			if now.Sub(at) >= AllowedAccessTTL {
				delete(changed, name)
			}
		}
	}
}
