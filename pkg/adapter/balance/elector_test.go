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

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/leaderelection"
)

func TestTermCallbacks(t *testing.T) {
	tests := []struct {
		name string
		// calls are the callbacks in the order client-go makes them;
		// "started, stopped while promoting" ends the term from inside the
		// promotion.
		calls []string
		want  []string
	}{
		{name: "a term led, then ended", calls: []string{"started", "stopped"}, want: []string{"promote", "promoted", "demote"}},
		{name: "a term still led", calls: []string{"started"}, want: []string{"promote", "promoted"}},
		{name: "the Lease lost before the promotion's goroutine ran", calls: []string{"stopped", "started"}, want: nil},
		{name: "a term that never led", calls: []string{"stopped"}, want: nil},
		{name: "the Lease lost while promoting: demoted at once and after the promotion",
			calls: []string{"started, stopped while promoting"}, want: []string{"promote", "demote", "promoted", "demote"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			var cb leaderelection.LeaderCallbacks
			stopWhilePromoting := false
			cb = termCallbacks(func() {
				got = append(got, "promote")
				if stopWhilePromoting {
					cb.OnStoppedLeading()
				}
				got = append(got, "promoted")
			}, func() { got = append(got, "demote") })
			for _, call := range tc.calls {
				switch call {
				case "started":
					cb.OnStartedLeading(context.Background())
				case "started, stopped while promoting":
					stopWhilePromoting = true
					cb.OnStartedLeading(context.Background())
				default:
					cb.OnStoppedLeading()
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
