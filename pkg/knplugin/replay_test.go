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

package knplugin

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// TestReplayCommand: `replay` adds the replay to spec.replays on the real
// apiserver, once per name; apply keeps it; bad flags and values are
// refused with a clear message. (The adapter that carries replays out, and
// --wait, are tested end to end on the local cluster.)
func TestReplayCommand(t *testing.T) {
	ns := cp.NewNamespace(t)
	replays := func(t *testing.T, ns string) []v1alpha1.ReplaySpec { return getSource(t, ns, "steps").Spec.Replays }
	since := metav1.NewTime(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
	until := metav1.NewTime(since.Add(time.Hour))
	incident := v1alpha1.ReplaySpec{Name: "incident-42", Since: since, Until: &until, TaskRun: "build", Types: []string{"failed"}}
	runSteps(t, ns, []step{{
		name: "create", args: []string{"apply", "steps", "--sink", "http://sink.example"},
		want: []string{"created"},
	}, {
		name: "replay a window of one TaskRun's failures",
		args: []string{"replay", "steps", "--since", "2026-12-01T08:00:00Z", "--until", "2026-12-01T09:00:00Z",
			"--taskrun", "build", "--type", "failed", "--name", "incident-42"},
		want: []string{"Replay 'incident-42' of TektonStepSource 'steps' requested in namespace '" + ns + "'."},
		check: func(t *testing.T, ns string) {
			if diff := cmp.Diff([]v1alpha1.ReplaySpec{incident}, replays(t, ns)); diff != "" {
				t.Errorf("spec.replays (-want +got):\n%s", diff)
			}
		},
	}, {
		name: "the same name again does nothing more",
		args: []string{"replay", "steps", "--since", "1h", "--name", "incident-42"},
		want: []string{"Replay 'incident-42' of TektonStepSource 'steps' was already requested: nothing more is sent."},
		check: func(t *testing.T, ns string) {
			if got := replays(t, ns); len(got) != 1 {
				t.Errorf("spec.replays = %+v, want the one replay", got)
			}
		},
	}, {
		name: "a relative start, named after the window",
		args: []string{"replay", "steps", "--since", "2h"},
		want: []string{"Replay 'replay-"},
		check: func(t *testing.T, ns string) {
			got := replays(t, ns)
			if len(got) != 2 || time.Since(got[1].Since.Time) < 2*time.Hour-time.Minute || time.Since(got[1].Since.Time) > 2*time.Hour+time.Minute {
				t.Errorf("spec.replays = %+v, want a second replay since 2h ago", got)
			}
		},
	}, {
		name: "apply, which lists no replays, keeps them",
		args: []string{"apply", "steps", "--sink", "http://sink.example", "--selector", "app=x"},
		want: []string{"updated"},
		check: func(t *testing.T, ns string) {
			if got := replays(t, ns); len(got) != 2 {
				t.Errorf("spec.replays after apply = %+v, want both replays", got)
			}
		},
	}, {
		name: "describe shows them", args: []string{"describe", "steps"},
		want: []string{"Replays:", "incident-42", "since 2026-12-01T08:00:00Z until 2026-12-01T09:00:00Z, TaskRun build, failed: Pending"},
	}, {
		name:    "no --since",
		args:    []string{"replay", "steps"},
		wantErr: "--since is required",
	}, {
		name:    "an unreadable --since",
		args:    []string{"replay", "steps", "--since", "yesterday"},
		wantErr: `--since "yesterday": want a duration back from now (2h, 30m) or an RFC 3339 time`,
	}, {
		name:    "an unknown transition, refused by the apiserver with its field path",
		args:    []string{"replay", "steps", "--since", "1h", "--type", "finished"},
		wantErr: "spec.replays[2].types[0]",
	}, {
		name:    "a window that ends before it starts",
		args:    []string{"replay", "steps", "--since", "1h", "--until", "2h", "--name", "backwards"},
		wantErr: `--until "2h" is not after --since "1h"`,
	}})
}
