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
	"sync"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"k8s.io/apimachinery/pkg/types"
)

// deletedRuns holds the last known state of deleted TaskRuns, as their
// delete notifications carried it, until the transitions in it are
// delivered. A pruner, a `keep: N` cleanup or a PipelineRun's deletion
// often deletes a TaskRun moments after it finished, before its last events
// reached the sink; the informer no longer has it, so this is what they are
// sent from. A name can be deleted, recreated and deleted again before the
// sink is back: each deleted TaskRun (UID) is kept, oldest first.
type deletedRuns struct {
	mu    sync.Mutex
	byKey map[types.NamespacedName][]*pipelinev1.TaskRun
}

func newDeletedRuns() *deletedRuns {
	return &deletedRuns{byKey: map[types.NamespacedName][]*pipelinev1.TaskRun{}}
}

// add keeps the TaskRun's last state, replacing an earlier one of the same
// TaskRun.
func (d *deletedRuns) add(tr *pipelinev1.TaskRun) {
	d.mu.Lock()
	defer d.mu.Unlock()
	key := types.NamespacedName{Namespace: tr.Namespace, Name: tr.Name}
	runs := d.byKey[key]
	for i, kept := range runs {
		if kept.UID == tr.UID {
			runs[i] = tr
			return
		}
	}
	d.byKey[key] = append(runs, tr)
}

// of lists the deleted TaskRuns of the name still to be delivered, oldest
// first.
func (d *deletedRuns) of(key types.NamespacedName) []*pipelinev1.TaskRun {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*pipelinev1.TaskRun(nil), d.byKey[key]...)
}

// done drops a deleted TaskRun whose transitions are all delivered.
func (d *deletedRuns) done(key types.NamespacedName, uid types.UID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	runs := d.byKey[key]
	for i, kept := range runs {
		if kept.UID == uid {
			runs = append(runs[:i:i], runs[i+1:]...)
			break
		}
	}
	if len(runs) == 0 {
		delete(d.byKey, key)
		return
	}
	d.byKey[key] = runs
}

// keys lists the names with deleted TaskRuns still to be delivered that
// match.
func (d *deletedRuns) keys(match func(types.NamespacedName) bool) []types.NamespacedName {
	d.mu.Lock()
	defer d.mu.Unlock()
	var keys []types.NamespacedName
	for key := range d.byKey {
		if match(key) {
			keys = append(keys, key)
		}
	}
	return keys
}

// drop removes the deleted TaskRuns whose names match (a bucket that moved
// to another replica) and returns their UIDs.
func (d *deletedRuns) drop(match func(types.NamespacedName) bool) []types.UID {
	d.mu.Lock()
	defer d.mu.Unlock()
	var uids []types.UID
	for key, runs := range d.byKey {
		if match(key) {
			for _, tr := range runs {
				uids = append(uids, tr.UID)
			}
			delete(d.byKey, key)
		}
	}
	return uids
}
