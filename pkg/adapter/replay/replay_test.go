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
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func at(min int) metav1.Time { return metav1.NewTime(t0.Add(time.Duration(min) * time.Minute)) }

// tr is a transition of step name in attempt 0, at the minute given.
func tr(name string, kind transitions.Kind, min int) transitions.Transition {
	return transitions.Transition{StepState: pipelinev1.StepState{Name: name}, Kind: kind, Time: at(min)}
}

func names(ts []transitions.Transition) []string {
	var out []string
	for _, t := range ts {
		out = append(out, fmt.Sprintf("%s/%s", t.StepState.Name, t.Kind))
	}
	return out
}

func TestSelect(t *testing.T) {
	all := []transitions.Transition{
		tr("a", transitions.Started, 1), tr("a", transitions.Succeeded, 5),
		tr("b", transitions.Started, 5), tr("b", transitions.Failed, 10),
		tr("c", transitions.Skipped, 10),
	}
	until := at(10)
	none := func(transitions.Transition) bool { return false }
	tests := []struct {
		name    string
		spec    v1alpha1.ReplaySpec
		pending func(transitions.Transition) bool
		want    []string
	}{{
		name: "everything since the start",
		spec: v1alpha1.ReplaySpec{Since: at(0)},
		want: []string{"a/started", "a/succeeded", "b/started", "b/failed", "c/skipped"},
	}, {
		name: "since is inclusive, until exclusive",
		spec: v1alpha1.ReplaySpec{Since: at(5), Until: &until},
		want: []string{"a/succeeded", "b/started"},
	}, {
		name: "only failed and skipped",
		spec: v1alpha1.ReplaySpec{Since: at(0), Types: []string{"failed", "skipped"}},
		want: []string{"b/failed", "c/skipped"},
	}, {
		name: "a window after everything",
		spec: v1alpha1.ReplaySpec{Since: at(11)},
	}, {
		name:    "what the live stream has yet to send is left to it",
		spec:    v1alpha1.ReplaySpec{Since: at(0)},
		pending: func(t transitions.Transition) bool { return t.StepState.Name == "c" },
		want:    []string{"a/started", "a/succeeded", "b/started", "b/failed"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pending := tc.pending
			if pending == nil {
				pending = none
			}
			if diff := cmp.Diff(tc.want, names(Select(all, tc.spec, pending))); diff != "" {
				t.Errorf("Select (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCoversTaskRun(t *testing.T) {
	if !CoversTaskRun(v1alpha1.ReplaySpec{}, "any") || !CoversTaskRun(v1alpha1.ReplaySpec{TaskRun: "build"}, "build") ||
		CoversTaskRun(v1alpha1.ReplaySpec{TaskRun: "build"}, "deploy") {
		t.Error("a replay covers every TaskRun, or those of its taskRun name only")
	}
}

func key(replay, part string) checkpoint.ReplayPartKey {
	return checkpoint.ReplayPartKey{Replay: replay, Part: part}
}

func succeeded(taskRuns, events int64, min int) checkpoint.ReplayPart {
	done := at(min)
	return checkpoint.ReplayPart{State: v1alpha1.ReplaySucceeded, TaskRuns: taskRuns, Events: events, Finished: &done}
}

var running = checkpoint.ReplayPart{State: v1alpha1.ReplayRunning}

func TestPartsToDoObsoleteAndStatus(t *testing.T) {
	specs := []v1alpha1.ReplaySpec{{Name: "r1", Since: at(0)}, {Name: "r2", Since: at(0)}}
	tests := []struct {
		name    string
		records Records
		n       uint32
		led     []string
		// want: parts to do, records to remove, status (name:state:taskRuns:events).
		wantToDo     []checkpoint.ReplayPartKey
		wantObsolete []checkpoint.ReplayPartKey
		wantStatus   []string
	}{{
		name:       "nothing recorded: every replay to do, pending",
		n:          1,
		led:        []string{"00-of-01"},
		wantToDo:   []checkpoint.ReplayPartKey{key("r1", "00-of-01"), key("r2", "00-of-01")},
		wantStatus: []string{"r1:Pending:0:0", "r2:Pending:0:0"},
	}, {
		name:       "one done, one running: the running one is done again (its process stopped, or it runs here)",
		records:    Records{key("r1", "00-of-01"): succeeded(2, 7, 3), key("r2", "00-of-01"): running},
		n:          1,
		led:        []string{"00-of-01"},
		wantToDo:   []checkpoint.ReplayPartKey{key("r2", "00-of-01")},
		wantStatus: []string{"r1:Succeeded:2:7", "r2:Running:0:0"},
	}, {
		name: "three replicas: each part counts, a replica does only the parts it leads",
		records: Records{key("r1", "00-of-03"): succeeded(1, 2, 3), key("r1", "01-of-03"): succeeded(3, 4, 4),
			key("r1", "02-of-03"): succeeded(0, 0, 5), key("r2", "01-of-03"): succeeded(1, 1, 2)},
		n:          3,
		led:        []string{"00-of-03", "02-of-03"},
		wantToDo:   []checkpoint.ReplayPartKey{key("r2", "00-of-03"), key("r2", "02-of-03")},
		wantStatus: []string{"r1:Succeeded:4:6", "r2:Running:1:1"},
	}, {
		name:       "done with one replica, now three: still done",
		records:    Records{key("r1", "00-of-01"): succeeded(2, 7, 3), key("r2", "00-of-01"): succeeded(0, 0, 3)},
		n:          3,
		led:        []string{"00-of-03", "01-of-03", "02-of-03"},
		wantStatus: []string{"r1:Succeeded:2:7", "r2:Succeeded:0:0"},
	}, {
		name:         "unfinished with one replica, now two: the old split's record goes, the new split's parts are done",
		records:      Records{key("r1", "00-of-01"): running, key("r2", "00-of-01"): succeeded(1, 1, 1)},
		n:            2,
		led:          []string{"01-of-02"},
		wantToDo:     []checkpoint.ReplayPartKey{key("r1", "01-of-02")},
		wantObsolete: []checkpoint.ReplayPartKey{key("r1", "00-of-01")},
		wantStatus:   []string{"r1:Pending:0:0", "r2:Succeeded:1:1"},
	}, {
		name:         "a replay no longer listed: its records go, so listing it again replays again",
		records:      Records{key("r1", "00-of-01"): succeeded(1, 1, 1), key("r2", "00-of-01"): succeeded(1, 1, 1), key("old", "00-of-01"): succeeded(5, 5, 1)},
		n:            1,
		led:          []string{"00-of-01"},
		wantObsolete: []checkpoint.ReplayPartKey{key("old", "00-of-01")},
		wantStatus:   []string{"r1:Succeeded:1:1", "r2:Succeeded:1:1"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			records := tc.records
			if records == nil {
				records = Records{}
			}
			if diff := cmp.Diff(tc.wantToDo, ToDo(specs, records, tc.led)); diff != "" {
				t.Errorf("ToDo (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantObsolete, Obsolete(specs, records, tc.n)); diff != "" {
				t.Errorf("Obsolete (-want +got):\n%s", diff)
			}
			var status []string
			for _, s := range Status(specs, records, tc.n) {
				status = append(status, fmt.Sprintf("%s:%s:%d:%d", s.Name, s.State, s.TaskRuns, s.Events))
				if (s.State == v1alpha1.ReplaySucceeded) != (s.CompletionTime != nil) {
					t.Errorf("%s: %s with completionTime %v", s.Name, s.State, s.CompletionTime)
				}
			}
			if diff := cmp.Diff(tc.wantStatus, status); diff != "" {
				t.Errorf("Status (-want +got):\n%s", diff)
			}
		})
	}
}
