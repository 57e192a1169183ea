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
		want: []string{"Replay 'incident-42' of TektonStepSource 'steps' requested in namespace '" + ns + "'.",
			// No controller runs here: the source has no status.
			"Warning: TektonStepSource 'steps' is not Ready (no status yet: is the controller running?): the replay runs once its adapter does."},
		check: func(t *testing.T, ns string) {
			if diff := cmp.Diff([]v1alpha1.ReplaySpec{incident}, replays(t, ns)); diff != "" {
				t.Errorf("spec.replays (-want +got):\n%s", diff)
			}
		},
	}, {
		name: "the same replay again does nothing more",
		args: []string{"replay", "steps", "--since", "2026-12-01T08:00:00Z", "--until", "2026-12-01T09:00:00Z",
			"--taskrun", "build", "--type", "failed", "--name", "incident-42"},
		want: []string{"Replay 'incident-42' of TektonStepSource 'steps' was already requested: nothing more is sent."},
		check: func(t *testing.T, ns string) {
			if got := replays(t, ns); len(got) != 1 {
				t.Errorf("spec.replays = %+v, want the one replay", got)
			}
		},
	}, {
		name: "the name again with another window is refused, naming both",
		args: []string{"replay", "steps", "--since", "2026-12-01T07:00:00Z", "--until", "2026-12-01T09:00:00Z",
			"--taskrun", "build", "--type", "failed", "--name", "incident-42"},
		wantErr: "replay 'incident-42' is already listed as since 2026-12-01T08:00:00Z until 2026-12-01T09:00:00Z, TaskRun build, failed, " +
			"not since 2026-12-01T07:00:00Z until 2026-12-01T09:00:00Z, TaskRun build, failed: give the new replay another --name",
	}, {
		name:    "the name again with other filters is refused",
		args:    []string{"replay", "steps", "--since", "2026-12-01T08:00:00Z", "--until", "2026-12-01T09:00:00Z", "--name", "incident-42"},
		wantErr: "replay 'incident-42' is already listed as",
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
		// Times with fractions of a second are kept to the second, as the
		// API keeps them: the same command again is the same replay.
		name: "a time with a fraction of a second",
		args: []string{"replay", "steps", "--since", "2026-12-01T08:00:00.5Z", "--until", "2026-12-01T09:00:00Z",
			"--taskrun", "build", "--type", "failed", "--name", "incident-42"},
		want: []string{"Replay 'incident-42' of TektonStepSource 'steps' was already requested: nothing more is sent."},
	}, {
		name: "a named relative window",
		args: []string{"replay", "steps", "--since", "3h", "--name", "last-hours"},
		want: []string{"Replay 'last-hours' of TektonStepSource 'steps' requested"},
	}, {
		// A duration back from now moves with each run: the same command
		// is the same replay.
		name: "the same relative command again does nothing more",
		args: []string{"replay", "steps", "--since", "3h", "--name", "last-hours"},
		want: []string{"Replay 'last-hours' of TektonStepSource 'steps' was already requested: nothing more is sent."},
		check: func(t *testing.T, ns string) {
			if got := replays(t, ns); len(got) != 3 {
				t.Errorf("spec.replays = %+v, want three replays", got)
			}
		},
	}, {
		name: "apply, which lists no replays, keeps them",
		args: []string{"apply", "steps", "--sink", "http://sink.example", "--selector", "app=x"},
		want: []string{"updated"},
		check: func(t *testing.T, ns string) {
			if got := replays(t, ns); len(got) != 3 {
				t.Errorf("spec.replays after apply = %+v, want the three replays", got)
			}
		},
	}, {
		name: "describe shows them", args: []string{"describe", "steps"},
		want: []string{"Replays:", "incident-42", "since 2026-12-01T08:00:00Z until 2026-12-01T09:00:00Z, TaskRun build, failed: Pending"},
	}, {
		name: "replay list shows each with its window and state",
		args: []string{"replay", "list", "steps"},
		want: []string{"NAME", "WINDOW", "STATE", "incident-42", "since 2026-12-01T08:00:00Z until 2026-12-01T09:00:00Z, TaskRun build, failed",
			"Pending", "last-hours"},
	}, {
		name: "replay delete takes one off the list",
		args: []string{"replay", "delete", "steps", "incident-42"},
		want: []string{"Replay 'incident-42' of TektonStepSource 'steps' deleted in namespace '" + ns + "'."},
		check: func(t *testing.T, ns string) {
			for _, r := range replays(t, ns) {
				if r.Name == "incident-42" {
					t.Errorf("spec.replays still lists incident-42: %+v", replays(t, ns))
				}
			}
			if got := replays(t, ns); len(got) != 2 {
				t.Errorf("spec.replays = %+v, want the two others", got)
			}
		},
	}, {
		name:    "replay delete of a name not listed",
		args:    []string{"replay", "delete", "steps", "incident-42"},
		wantErr: "no replay named incident-42 (kn source tektonstep replay list steps -n " + ns + " lists them)",
	}, {
		name:    "no --since",
		args:    []string{"replay", "steps"},
		wantErr: "--since is required",
	}, {
		name:    "an unreadable --since",
		args:    []string{"replay", "steps", "--since", "yesterday"},
		wantErr: `--since "yesterday": want a duration back from now (2h, 30m) or an RFC 3339 time`,
	}, {
		name:    "an unknown transition is refused with its field path",
		args:    []string{"replay", "steps", "--since", "1h", "--type", "finished"},
		wantErr: "types[0]",
	}, {
		name:    "a window that starts now",
		args:    []string{"replay", "steps", "--since", "0s"},
		wantErr: `--since "0s" is not in the past: the window would hold no transition yet`,
	}, {
		name:    "a window that starts less than a second ago",
		args:    []string{"replay", "steps", "--since", "500ms"},
		wantErr: `--since "500ms" is not in the past`,
	}, {
		name:    "a window that starts in the future",
		args:    []string{"replay", "steps", "--since", "2999-01-01T00:00:00Z"},
		wantErr: `--since "2999-01-01T00:00:00Z" is not in the past`,
	}, {
		name:    "a name that is no DNS label, refused before anything is written",
		args:    []string{"replay", "steps", "--since", "1h", "--name", "Bad_Name"},
		wantErr: "--name: invalid value: Bad_Name: name: a lowercase RFC 1123 label",
	}, {
		name:    "a name over 40 characters",
		args:    []string{"replay", "steps", "--since", "1h", "--name", "a-replay-name-that-is-longer-than-forty-characters"},
		wantErr: "--name: invalid value: a-replay-name-that-is-longer-than-forty-characters: name: at most 40 characters",
	}, {
		name:    "an unknown transition",
		args:    []string{"replay", "steps", "--since", "1h", "--type", "bogus"},
		wantErr: "--type: invalid value: bogus: types[0]: must be one of started, succeeded, failed, skipped",
	}, {
		name:    "a window that ends before it starts",
		args:    []string{"replay", "steps", "--since", "1h", "--until", "2h", "--name", "backwards"},
		wantErr: `--until "2h" is not after --since "1h"`,
	}})
}

// TestReplayOfASourceNamedList: a source whose name is a subcommand's is
// given as --source.
func TestReplayOfASourceNamedList(t *testing.T) {
	ns := cp.NewNamespace(t)
	runSteps(t, ns, []step{{
		name: "create", args: []string{"apply", "list", "--sink", "http://sink.example"},
		want: []string{"created"},
	}, {
		name: "replay it", args: []string{"replay", "--source", "list", "--since", "1h", "--name", "of-list"},
		want: []string{"Replay 'of-list' of TektonStepSource 'list' requested"},
	}, {
		name: "list its replays", args: []string{"replay", "list", "list"},
		want: []string{"of-list"},
	}, {
		name:    "a name and --source",
		args:    []string{"replay", "other", "--source", "list", "--since", "1h"},
		wantErr: "takes the source's name as an argument or as --source, not both",
	}})
}

// TestWaitTimeout: --wait-timeout takes kn's seconds and durations.
func TestWaitTimeout(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "300", want: 5 * time.Minute},
		{in: "90s", want: 90 * time.Second},
		{in: "2m", want: 2 * time.Minute},
		{in: "0", wantErr: true},
		{in: "-5", wantErr: true},
		{in: "soon", wantErr: true},
	} {
		var w waitTimeout
		err := w.Set(tc.in)
		if (err != nil) != tc.wantErr || (err == nil && time.Duration(w) != tc.want) {
			t.Errorf("--wait-timeout %s: %v (err %v), want %v (error %v)", tc.in, time.Duration(w), err, tc.want, tc.wantErr)
		}
	}
}
