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
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

func TestInFlightWait(t *testing.T) {
	a := types.NamespacedName{Namespace: "ci", Name: "a"}
	b := types.NamespacedName{Namespace: "ci", Name: "b"}
	only := func(key types.NamespacedName) func(types.NamespacedName) bool {
		return func(k types.NamespacedName) bool { return k == key }
	}
	tests := []struct {
		name string
		// begun are the deliveries under way; ended those that end while
		// wait waits.
		begun, ended []types.NamespacedName
		match        func(types.NamespacedName) bool
		want         bool
	}{
		{name: "nothing under way", match: only(a), want: true},
		{name: "only other TaskRuns' under way", begun: []types.NamespacedName{b}, match: only(a), want: true},
		{name: "one under way that ends", begun: []types.NamespacedName{a, b}, ended: []types.NamespacedName{a}, match: only(a), want: true},
		{name: "two of one TaskRun, both end", begun: []types.NamespacedName{a, a}, ended: []types.NamespacedName{a, a}, match: only(a), want: true},
		{name: "two of one TaskRun, one ends", begun: []types.NamespacedName{a, a}, ended: []types.NamespacedName{a}, match: only(a), want: false},
		{name: "one under way that does not end", begun: []types.NamespacedName{a}, ended: []types.NamespacedName{b}, match: only(a), want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newInFlight()
			for _, key := range tc.begun {
				f.begin(key)
			}
			go func() {
				for _, key := range tc.ended {
					time.Sleep(10 * time.Millisecond)
					f.end(key)
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			if got := f.wait(ctx, tc.match); got != tc.want {
				t.Errorf("wait = %v, want %v", got, tc.want)
			}
		})
	}
}
