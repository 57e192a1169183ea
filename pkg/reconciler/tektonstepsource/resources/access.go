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

package resources

import (
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// Access is one request the receive adapter makes of the apiserver: a verb
// on a resource, of one named object when Name is set. The lists below are
// everything the adapter does; the per-source Role grants exactly them, and
// the controller checks a user-provided account for them.
type Access struct {
	Verb, Group, Resource, Subresource, Name string
}

// String renders the resource for messages: "pods/log",
// "taskruns.tekton.dev", "configmaps tekton-step-progress-<uid>".
func (a Access) String() string {
	s := a.Resource
	if a.Subresource != "" {
		s += "/" + a.Subresource
	}
	if a.Group != "" {
		s += "." + a.Group
	}
	if a.Name != "" {
		s += " " + a.Name
	}
	return s
}

// WatchAccess is what the adapter does in every namespace it watches (with
// a cluster-wide watch, cluster-wide), of objects it cannot name in
// advance: its TaskRun informer lists and watches; it patches its
// checkpoint annotation and deletion guard finalizer onto TaskRuns (a merge
// patch of those keys only); it reads the logs of the steps' containers.
var WatchAccess = []Access{
	{Verb: "list", Group: "tekton.dev", Resource: "taskruns"},
	{Verb: "watch", Group: "tekton.dev", Resource: "taskruns"},
	{Verb: "patch", Group: "tekton.dev", Resource: "taskruns"},
	{Verb: "get", Resource: "pods", Subresource: "log"},
}

// ListsOrWatchesTaskRuns: the access is the TaskRun informer's (list or
// watch), which a cluster-wide watch needs in all namespaces.
func ListsOrWatchesTaskRuns(a Access) bool {
	return a.Group == "tekton.dev" && a.Resource == "taskruns" && a.Subresource == "" && a.Name == "" &&
		(a.Verb == "list" || a.Verb == "watch")
}

// MaskAccess is what the adapter does besides, in every namespace it
// watches, with spec.masking.secretValues: it reads the pod of a step to
// find the Secrets the step references, and those Secrets, to mask their
// values. An account of the user's own (spec.serviceAccountName) is
// checked for it namespace-wide, as the names are only known once TaskRuns
// run; the per-source Role grants it by name (MaskAccessTo).
var MaskAccess = []Access{
	{Verb: "get", Resource: "pods"},
	{Verb: "get", Resource: "secrets"},
}

// WatchAccessOf is what the source's adapter does in every namespace it
// watches: WatchAccess, and MaskAccess when it masks secret values.
func WatchAccessOf(src *v1alpha1.TektonStepSource) []Access {
	if src.Spec.MasksSecretValues() {
		return append(slices.Clone(WatchAccess), MaskAccess...)
	}
	return WatchAccess
}

// SourceAccess is what the adapter does in the source's namespace, by
// name: read and patch its progress journal (which also records the
// replays), watch the source itself for spec.replays and write its
// status.replays, and with replicas get and update its bucket Leases. The
// controller creates those objects, so the adapter creates none
// (Kubernetes cannot limit create to a name).
func SourceAccess(src *v1alpha1.TektonStepSource) []Access {
	journal := adaptercontract.JournalName(string(src.UID))
	out := []Access{
		{Verb: "get", Resource: "configmaps", Name: journal},
		{Verb: "patch", Resource: "configmaps", Name: journal},
		{Verb: "list", Group: v1alpha1.SchemeGroupVersion.Group, Resource: "tektonstepsources", Name: src.Name},
		{Verb: "watch", Group: v1alpha1.SchemeGroupVersion.Group, Resource: "tektonstepsources", Name: src.Name},
		{Verb: "patch", Group: v1alpha1.SchemeGroupVersion.Group, Resource: "tektonstepsources", Subresource: "status", Name: src.Name},
	}
	for _, lease := range LeaseNames(src) {
		out = append(out,
			Access{Verb: "get", Group: "coordination.k8s.io", Resource: "leases", Name: lease},
			Access{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Name: lease})
	}
	return out
}

// ReplicaCountAccess is, with replicas, the adapter reading its own
// Deployment, whose ready replicas share the buckets. Without it each
// replica counts on one bucket (still balanced while all run; a dead
// replica's bucket is taken over after a grace period), so the controller
// does not require it of a user-provided account.
func ReplicaCountAccess(src *v1alpha1.TektonStepSource) []Access {
	if len(LeaseNames(src)) == 0 {
		return nil
	}
	return []Access{{Verb: "get", Group: "apps", Resource: "deployments", Name: DeploymentName(src)}}
}

// EventAccess is the adapter's Kubernetes Events about its source (the
// Warning of a rejected step event), in the source's namespace. Event names
// are generated, so no name limits it. Without it the adapter only logs,
// so the controller does not require it of a user-provided account.
var EventAccess = []Access{
	{Verb: "create", Resource: "events"},
	{Verb: "patch", Resource: "events"},
}

// Rules renders accesses as RBAC rules: one rule per resource and set of
// verbs, with the names of the objects it is limited to.
func Rules(accesses ...[]Access) []rbacv1.PolicyRule {
	type object struct{ group, resource, name string }
	var objects []object
	verbs := map[object][]string{}
	for _, list := range accesses {
		for _, a := range list {
			resource := a.Resource
			if a.Subresource != "" {
				resource += "/" + a.Subresource
			}
			o := object{a.Group, resource, a.Name}
			if _, seen := verbs[o]; !seen {
				objects = append(objects, o)
			}
			verbs[o] = append(verbs[o], a.Verb)
		}
	}
	var rules []rbacv1.PolicyRule
	index := map[string]int{}
	for _, o := range objects {
		key := o.group + "|" + o.resource + "|" + strings.Join(verbs[o], ",") + "|" + boolKey(o.name != "")
		i, ok := index[key]
		if !ok {
			i = len(rules)
			index[key] = i
			rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{o.group}, Resources: []string{o.resource}, Verbs: verbs[o]})
		}
		if o.name != "" {
			rules[i].ResourceNames = append(rules[i].ResourceNames, o.name)
		}
	}
	return rules
}

func boolKey(b bool) string {
	if b {
		return "named"
	}
	return "any"
}
