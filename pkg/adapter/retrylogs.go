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

	"github.com/tektonstep/tekton-step-source/pkg/adapter/steplog"
)

// retryLogs keeps the log read for a TaskRun's next transition while its
// delivery is retried, so a step's log is read once per transition, not
// once per attempt, and every attempt carries the same data. Only a
// TaskRun's first undelivered transition is ever retried, so it holds at
// most one log (at most log.maxBytes) per TaskRun whose delivery fails.
type retryLogs struct {
	mu    sync.Mutex
	byRun map[types.UID]heldLog
	// bytes is the size of the logs held; past maxHeldLogBytes a log is
	// not held (its retry reads it again).
	bytes int
}

// maxHeldLogBytes bounds the memory of the held logs during a long sink
// outage with many TaskRuns: about 128 logs of the 512 KiB maximum, or
// 1,024 of the 64 KiB default.
const maxHeldLogBytes = 64 << 20

type heldLog struct {
	key types.NamespacedName
	id  string
	log *steplog.Log
}

func newRetryLogs() *retryLogs { return &retryLogs{byRun: map[types.UID]heldLog{}} }

// get returns the log held for the event id of the TaskRun.
func (r *retryLogs) get(uid types.UID, id string) (*steplog.Log, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ok := r.byRun[uid]
	if !ok || h.id != id {
		return nil, false
	}
	return h.log, true
}

// hold keeps the log of the TaskRun's event id for its retry, in place of
// any earlier one.
func (r *retryLogs) hold(tr *pipelinev1.TaskRun, id string, log *steplog.Log) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.releaseLocked(tr.UID)
	if log == nil || r.bytes+len(log.Text) > maxHeldLogBytes {
		return
	}
	r.byRun[tr.UID] = heldLog{key: types.NamespacedName{Namespace: tr.Namespace, Name: tr.Name}, id: id, log: log}
	r.bytes += len(log.Text)
}

// release drops the TaskRun's held log.
func (r *retryLogs) release(uid types.UID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.releaseLocked(uid)
}

func (r *retryLogs) releaseLocked(uid types.UID) {
	if h, ok := r.byRun[uid]; ok {
		r.bytes -= len(h.log.Text)
		delete(r.byRun, uid)
	}
}

// drop releases the logs of the TaskRuns that match (a bucket that moved
// to another replica).
func (r *retryLogs) drop(match func(types.NamespacedName) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for uid, h := range r.byRun {
		if match(h.key) {
			r.releaseLocked(uid)
		}
	}
}
