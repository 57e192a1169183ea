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
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
)

func deletedRun(name, uid, version string) *pipelinev1.TaskRun {
	return &pipelinev1.TaskRun{ObjectMeta: metav1.ObjectMeta{Namespace: "ci", Name: name, UID: types.UID(uid), ResourceVersion: version}}
}

func versions(runs []*pipelinev1.TaskRun) []string {
	var out []string
	for _, tr := range runs {
		out = append(out, string(tr.UID)+"@"+tr.ResourceVersion)
	}
	return out
}

func TestDeletedRuns(t *testing.T) {
	tests := []struct {
		name string
		do   func(d *deletedRuns)
		want map[string][]string
	}{{
		name: "kept until done",
		do: func(d *deletedRuns) {
			d.add(deletedRun("a", "1", "5"))
			d.add(deletedRun("b", "2", "6"))
			d.done(keyOf("b"), "2")
		},
		want: map[string][]string{"a": {"1@5"}},
	}, {
		name: "a name deleted twice: both, oldest first, each done on its own",
		do: func(d *deletedRuns) {
			d.add(deletedRun("a", "1", "5"))
			d.add(deletedRun("a", "2", "9"))
			d.add(deletedRun("a", "3", "12"))
			d.done(keyOf("a"), "2")
		},
		want: map[string][]string{"a": {"1@5", "3@12"}},
	}, {
		name: "the same TaskRun again: its later state replaces the earlier",
		do: func(d *deletedRuns) {
			d.add(deletedRun("a", "1", "5"))
			d.add(deletedRun("a", "1", "7"))
		},
		want: map[string][]string{"a": {"1@7"}},
	}, {
		name: "done for an unknown TaskRun changes nothing",
		do: func(d *deletedRuns) {
			d.add(deletedRun("a", "1", "5"))
			d.done(keyOf("a"), "9")
			d.done(keyOf("z"), "1")
		},
		want: map[string][]string{"a": {"1@5"}},
	}, {
		name: "a bucket moved away: its TaskRuns dropped",
		do: func(d *deletedRuns) {
			d.add(deletedRun("a", "1", "5"))
			d.add(deletedRun("b", "2", "6"))
			d.add(deletedRun("b", "3", "7"))
			if keys := d.keys(func(k types.NamespacedName) bool { return k.Name == "b" }); len(keys) != 1 || keys[0] != keyOf("b") {
				t.Errorf("keys = %v, want ci/b", keys)
			}
			uids := d.drop(func(k types.NamespacedName) bool { return k.Name == "b" })
			sort.Slice(uids, func(i, j int) bool { return uids[i] < uids[j] })
			if diff := cmp.Diff([]types.UID{"2", "3"}, uids); diff != "" {
				t.Errorf("dropped (-want +got):\n%s", diff)
			}
		},
		want: map[string][]string{"a": {"1@5"}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newDeletedRuns()
			tc.do(d)
			got := map[string][]string{}
			for key := range d.byKey {
				got[key.Name] = versions(d.of(key))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("deleted runs (-want +got):\n%s", diff)
			}
		})
	}
}

// handlerAdapter is an Adapter with what the watch's handlers use.
func handlerAdapter() *Adapter {
	return &Adapter{
		cfg:           &adaptercontract.Config{},
		ledger:        newLedger(interval, 100, 1),
		deleted:       newDeletedRuns(),
		handled:       newHandledRuns(),
		replays:       newReplays(),
		replayRetries: newRetries(),
		queue:         workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[types.NamespacedName]()),
	}
}

// TestOnDelete: a deletion, also one the watch missed
// (DeletedFinalStateUnknown), keeps the TaskRun's last state and queues it;
// a TaskRun of a bucket another replica leads is forgotten.
func TestOnDelete(t *testing.T) {
	tests := []struct {
		name      string
		obj       interface{}
		wantKept  []string
		wantQueue int
	}{{
		name:      "delete notification",
		obj:       deletedRun("a", "1", "5"),
		wantKept:  []string{"1@5"},
		wantQueue: 1,
	}, {
		name:      "a delete the watch missed",
		obj:       cache.DeletedFinalStateUnknown{Key: "ci/a", Obj: deletedRun("a", "1", "4")},
		wantKept:  []string{"1@4"},
		wantQueue: 1,
	}, {
		name: "not a TaskRun",
		obj:  cache.DeletedFinalStateUnknown{Key: "ci/a", Obj: "garbage"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := handlerAdapter()
			defer a.queue.ShutDown()
			a.onDelete(tc.obj)
			if diff := cmp.Diff(tc.wantKept, versions(a.deleted.of(keyOf("a")))); diff != "" {
				t.Errorf("kept (-want +got):\n%s", diff)
			}
			if a.queue.Len() != tc.wantQueue {
				t.Errorf("queued %d, want %d", a.queue.Len(), tc.wantQueue)
			}
		})
	}
}

// TestOnUpdate: an update to another TaskRun of the same name (a deletion
// and re-creation the watch missed, seen at a relist) keeps the deleted
// one's last state for delivery before the successor's; an update of the
// same TaskRun keeps nothing.
func TestOnUpdate(t *testing.T) {
	tests := []struct {
		name     string
		old, obj interface{}
		wantKept []string
	}{{
		name: "the same TaskRun, a later version",
		old:  deletedRun("a", "1", "5"),
		obj:  deletedRun("a", "1", "6"),
	}, {
		name:     "another TaskRun of the name",
		old:      deletedRun("a", "1", "5"),
		obj:      deletedRun("a", "2", "9"),
		wantKept: []string{"1@5"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := handlerAdapter()
			defer a.queue.ShutDown()
			a.onUpdate(tc.old, tc.obj)
			if diff := cmp.Diff(tc.wantKept, versions(a.deleted.of(keyOf("a")))); diff != "" {
				t.Errorf("kept (-want +got):\n%s", diff)
			}
			if a.queue.Len() != 1 {
				t.Errorf("queued %d, want 1", a.queue.Len())
			}
			if a.handled.behind(keyOf("a"), tc.obj.(*pipelinev1.TaskRun).UID) {
				t.Errorf("handled: the update's TaskRun not recorded as seen")
			}
		})
	}
}

// TestHandledRuns: a delivery waits while the cache holds another TaskRun
// of the name than the handlers last saw, and not once they saw it or the
// deleted one's deletion.
func TestHandledRuns(t *testing.T) {
	tests := []struct {
		name string
		do   func(h *handledRuns)
		// behind: for the cache's TaskRun "2" of ci/a.
		behind bool
	}{{
		name: "nothing seen of the name",
		do:   func(*handledRuns) {},
	}, {
		name:   "the deleted one seen, its deletion not yet",
		do:     func(h *handledRuns) { h.saw(deletedRun("a", "1", "5")) },
		behind: true,
	}, {
		name: "the deleted one's deletion seen",
		do: func(h *handledRuns) {
			h.saw(deletedRun("a", "1", "5"))
			h.gone(deletedRun("a", "1", "5"))
		},
	}, {
		name: "the successor seen",
		do: func(h *handledRuns) {
			h.saw(deletedRun("a", "1", "5"))
			h.saw(deletedRun("a", "2", "9"))
		},
	}, {
		name: "the deletion of the deleted one after its successor was seen",
		do: func(h *handledRuns) {
			h.saw(deletedRun("a", "2", "9"))
			h.gone(deletedRun("a", "1", "5"))
		},
	}, {
		name: "waited for the handlers long enough: no more (a watch that ended)",
		do: func(h *handledRuns) {
			h.saw(deletedRun("a", "1", "5"))
			h.byKey[keyOf("a")] = seenRun{uid: "1", waiting: time.Now().Add(-handlerLagLimit)}
		},
	}, {
		name: "a TaskRun seen long ago still waits for its successor's handler",
		do: func(h *handledRuns) {
			h.saw(deletedRun("a", "1", "5"))
			h.byKey[keyOf("a")] = seenRun{uid: "1"}
			h.behind(keyOf("a"), "2")
		},
		behind: true,
	}, {
		name: "its namespace no longer watched",
		do: func(h *handledRuns) {
			h.saw(deletedRun("a", "1", "5"))
			h.drop(func(k types.NamespacedName) bool { return k.Namespace == "ci" })
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHandledRuns()
			tc.do(h)
			if got := h.behind(keyOf("a"), "2"); got != tc.behind {
				t.Errorf("behind = %v, want %v", got, tc.behind)
			}
		})
	}
}
