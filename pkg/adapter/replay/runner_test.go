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

package replay

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
)

// TestReplaysForget: the TaskRuns of a namespace that left are taken off
// every running part, so the parts can finish; the loop is woken.
func TestReplaysForget(t *testing.T) {
	r := NewRunner(Options{})
	part := func(name string, keys ...types.NamespacedName) *Running {
		p := &Running{key: checkpoint.ReplayPartKey{Replay: name}, pending: map[types.UID]types.NamespacedName{}, sent: map[types.UID]map[string]bool{}}
		for _, k := range keys {
			uid := types.UID(k.String())
			p.pending[uid] = k
			p.sent[uid] = map[string]bool{"id": true}
		}
		r.running[p.key] = p
		return p
	}
	left, stays := types.NamespacedName{Namespace: "a", Name: "x"}, types.NamespacedName{Namespace: "b", Name: "y"}
	onlyLeft := part("only-left", left)
	both := part("both", left, stays)
	r.Forget(func(k types.NamespacedName) bool { return k.Namespace == "a" })
	if len(onlyLeft.pending) != 0 || len(onlyLeft.sent) != 0 {
		t.Errorf("part of the namespace that left: pending %v, sent %v, want none", onlyLeft.pending, onlyLeft.sent)
	}
	if _, ok := both.pending[types.UID(stays.String())]; !ok || len(both.pending) != 1 {
		t.Errorf("part of both namespaces: pending %v, want only %s", both.pending, stays)
	}
	select {
	case <-r.wake:
	default:
		t.Error("the replay loop was not woken")
	}
}
