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
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/masking"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/steplog"
)

// retries keeps, for each TaskRun whose next event failed to be delivered,
// that event's retry state: the log read for it, so a step's log is read
// once per transition, not once per attempt, and every attempt carries the
// same data; its masker, so the Secrets are read once too; how many
// attempts failed and when the next may be made (spec.delivery's retry and
// backoff); and whether it is now bound for the dead-letter sink. Only a
// TaskRun's first undelivered event is ever retried, so it holds one state
// (and at most log.maxBytes of log) per TaskRun whose delivery fails. It
// is memory only: a restart or a bucket handover starts the count again,
// so an event gets at least, never fewer than, the attempts
// spec.delivery.retry allows.
type retries struct {
	mu    sync.Mutex
	byRun map[types.UID]retryState
	// maskers counts the retry states that hold each masker: the steps
	// that reference the same Secrets at the same versions share one
	// (maskerCache), which counts once in bytes while any state holds it.
	maskers map[*masking.Masker]int
	// bytes is the size of the logs and maskers held; past maxHeldBytes a
	// log or a masker is not held (its retry reads the log, or the
	// Secrets, again).
	bytes int
}

// maxHeldBytes bounds the memory of the held logs and maskers during a
// long sink outage with many TaskRuns: about 128 logs of the 512 KiB
// maximum, or 1,024 of the 64 KiB default; a step that mounts a 226 KiB CA
// bundle has a masker of 5 MiB, and each Secret version's counts once.
const maxHeldBytes = 64 << 20

// retryState is the retry state of a TaskRun's next event.
type retryState struct {
	key types.NamespacedName
	// runs holds the state: the live events' retries or the replays'.
	runs *retries
	// id is the event's id.
	id string
	// log is the log the event carries; nil when it carries none or it
	// was not held.
	log *steplog.Log
	// masker masks the event (shared: see maskers); withheld says why
	// its log must not be sent (a Secret the step references could not
	// be read).
	masker   *masking.Masker
	withheld error
	// failures counts the failed attempts, to the sink and then to the
	// dead-letter sink.
	failures int
	// notBefore is the earliest time of the next attempt; zero when the
	// delivery queue's backoff alone decides.
	notBefore time.Time
	// deadLetter: the event goes to the dead-letter sink, with the sink's
	// last answer (sinkAnswer, sinkErr) in its error extensions.
	deadLetter bool
	sinkAnswer answer
	sinkErr    error
}

func newRetries() *retries {
	return &retries{byRun: map[types.UID]retryState{}, maskers: map[*masking.Masker]int{}}
}

// get returns the retry state held for the event id of the TaskRun.
func (r *retries) get(uid types.UID, id string) (retryState, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.byRun[uid]
	if !ok || st.id != id {
		return retryState{}, false
	}
	return st, true
}

// hold keeps st as the retry state of the TaskRun's next event, in place
// of any earlier one; its masker and log only while the held maskers and
// logs stay within maxHeldBytes. A masker not held takes the log with it:
// the retry builds the masker again, and a Secret that can no longer be
// read must then withhold the log, not see it masked without its values.
func (r *retries) hold(tr *pipelinev1.TaskRun, st retryState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.releaseLocked(tr.UID)
	st.key = types.NamespacedName{Namespace: tr.Namespace, Name: tr.Name}
	if st.masker != nil && r.maskers[st.masker] == 0 && r.bytes+st.masker.Size() > maxHeldBytes {
		st.masker, st.withheld, st.log = nil, nil, nil
	}
	if st.log != nil && r.bytes+len(st.log.Text) > maxHeldBytes {
		st.log = nil
	}
	if st.masker != nil {
		if r.maskers[st.masker] == 0 {
			r.bytes += st.masker.Size()
		}
		r.maskers[st.masker]++
	}
	if st.log != nil {
		r.bytes += len(st.log.Text)
	}
	r.byRun[tr.UID] = st
}

// release drops the TaskRun's retry state.
func (r *retries) release(uid types.UID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.releaseLocked(uid)
}

func (r *retries) releaseLocked(uid types.UID) {
	st, ok := r.byRun[uid]
	if !ok {
		return
	}
	if st.log != nil {
		r.bytes -= len(st.log.Text)
	}
	if st.masker != nil {
		if r.maskers[st.masker]--; r.maskers[st.masker] == 0 {
			delete(r.maskers, st.masker)
			r.bytes -= st.masker.Size()
		}
	}
	delete(r.byRun, uid)
}

// drop releases the retry states of the TaskRuns that match (a bucket that
// moved to another replica).
func (r *retries) drop(match func(types.NamespacedName) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for uid, st := range r.byRun {
		if match(st.key) {
			r.releaseLocked(uid)
		}
	}
}
