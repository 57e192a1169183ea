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
	"testing"

	"github.com/google/go-cmp/cmp"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

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
			a := testAdapter(t, &adaptercontract.Config{}, nil)
			a.onDelete(tc.obj)
			if diff := cmp.Diff(tc.wantKept, versions(a.streams.Deleted(keyOf("a")))); diff != "" {
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
			a := testAdapter(t, &adaptercontract.Config{}, nil)
			a.onUpdate(tc.old, tc.obj)
			if diff := cmp.Diff(tc.wantKept, versions(a.streams.Deleted(keyOf("a")))); diff != "" {
				t.Errorf("kept (-want +got):\n%s", diff)
			}
			if a.queue.Len() != 1 {
				t.Errorf("queued %d, want 1", a.queue.Len())
			}
			if a.streams.Behind(keyOf("a"), tc.obj.(*pipelinev1.TaskRun).UID) {
				t.Errorf("handled: the update's TaskRun not recorded as seen")
			}
		})
	}
}
