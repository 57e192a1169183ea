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
	"context"
	"encoding/json"
	"maps"
	"slices"
	"sync"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	sourcesclient "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned"
)

// This file is the Runner, which carries out the decisions of replay.go:
// which parts this replica replays, which TaskRuns each part has, and the
// parts' records and status. It never sends: each TaskRun is replayed by
// the delivery worker that handles it, after its live events (so a
// TaskRun's live events keep their order and its replayed ones are sent in
// theirs), which asks PartsOf what is left and reports Sent and Finish. A
// part (the TaskRuns of one bucket) starts with a snapshot of the bucket's
// TaskRuns; it is recorded in the journal when it starts and when it is
// done, and status.replays is written from those records.

// Options are what a Runner works with.
type Options struct {
	// Sources patches the source's status.replays; Journal holds the
	// parts' records.
	Sources         sourcesclient.Interface
	Journal         *checkpoint.Journal
	SourceName      string
	SourceNamespace string
	// Timeout bounds one read or write; RetryBase and RetryMax the backoff
	// of a failed pass.
	Timeout, RetryBase, RetryMax time.Duration
	// Parts are the parts this replica leads (ownership.Buckets.Parts).
	Parts func() (map[string]func(types.NamespacedName) bool, uint32)
	// Each visits every cached TaskRun of the watched namespaces, and
	// Synced says whether every watch listed its TaskRuns.
	Each   func(visit func(*pipelinev1.TaskRun))
	Synced func() bool
	// Queue queues a TaskRun for its delivery worker.
	Queue  func(types.NamespacedName)
	Logger *zap.SugaredLogger
}

// Runner is the replay state of this process.
type Runner struct {
	opts Options

	mu sync.Mutex
	// specs is spec.replays and shown status.replays, as last seen.
	specs []v1alpha1.ReplaySpec
	shown []v1alpha1.ReplayStatus
	seen  bool
	// running are the parts this process replays.
	running map[checkpoint.ReplayPartKey]*Running
	wake    chan struct{}
}

// Running is a part of a replay being run.
type Running struct {
	key  checkpoint.ReplayPartKey
	spec v1alpha1.ReplaySpec
	// pending are the TaskRuns of the part still to replay; sent the ids
	// of each one's events already re-sent.
	pending map[types.UID]types.NamespacedName
	sent    map[types.UID]map[string]bool
	// taskRuns counts the TaskRuns that had events to re-send, events
	// those events.
	taskRuns, events int64
}

// NewRunner is a Runner that starts nothing before the source is
// observed.
func NewRunner(opts Options) *Runner {
	return &Runner{opts: opts, running: map[checkpoint.ReplayPartKey]*Running{}, wake: make(chan struct{}, 1)}
}

// Name is the replay's name, which its events carry.
func (p *Running) Name() string { return p.key.Replay }

// Spec is what the replay re-sends.
func (p *Running) Spec() v1alpha1.ReplaySpec { return p.spec }

// Kick wakes the replay loop.
func (r *Runner) Kick() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Observe takes in the source as its watch shows it.
func (r *Runner) Observe(src *v1alpha1.TektonStepSource) {
	r.mu.Lock()
	r.specs, r.shown, r.seen = src.Spec.Replays, src.Status.Replays, true
	r.mu.Unlock()
	r.Kick()
}

// PartsOf lists the running parts that still have the TaskRun to replay.
func (r *Runner) PartsOf(uid types.UID) []*Running {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*Running
	for _, p := range r.running {
		if _, ok := p.pending[uid]; ok {
			out = append(out, p)
		}
	}
	return out
}

// WasSent reports whether the part re-sent the event of the TaskRun.
func (r *Runner) WasSent(p *Running, uid types.UID, id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return p.sent[uid][id]
}

// Sent records that the part re-sent the event.
func (r *Runner) Sent(p *Running, uid types.UID, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.sent[uid] == nil {
		p.sent[uid] = map[string]bool{}
		p.taskRuns++
	}
	p.sent[uid][id] = true
	p.events++
}

// Finish takes the TaskRun off the pending list of the parts given (all
// running parts when nil: it is gone), and wakes the loop when a part is
// done.
func (r *Runner) Finish(uid types.UID, parts []*Running) {
	r.mu.Lock()
	if parts == nil {
		for _, p := range r.running {
			parts = append(parts, p)
		}
	}
	done := false
	for _, p := range parts {
		if _, ok := p.pending[uid]; ok {
			delete(p.pending, uid)
			delete(p.sent, uid)
			done = done || len(p.pending) == 0
		}
	}
	r.mu.Unlock()
	if done {
		r.Kick()
	}
}

// Forget takes the TaskRuns that match off every running part (their
// namespace left: they are not replayed), and wakes the loop.
func (r *Runner) Forget(match func(types.NamespacedName) bool) {
	r.mu.Lock()
	for _, p := range r.running {
		for uid, key := range p.pending {
			if match(key) {
				delete(p.pending, uid)
				delete(p.sent, uid)
			}
		}
	}
	r.mu.Unlock()
	r.Kick()
}

// Run carries out the replays until ctx is done: on every change of
// the source, of the buckets led, and whenever a part is done.
func (r *Runner) Run(ctx context.Context) {
	retry := time.NewTimer(0)
	<-retry.C
	failures := 0
	for {
		select {
		case <-ctx.Done():
			retry.Stop()
			return
		case <-r.wake:
		case <-retry.C:
		}
		if !r.opts.Synced() {
			// A namespace that joined is being listed: a part started
			// now would miss its TaskRuns.
			retry.Reset(r.opts.RetryBase)
			continue
		}
		if err := r.reconcile(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			wait := min(r.opts.RetryBase<<min(failures, 20), r.opts.RetryMax)
			r.opts.Logger.Warnw("Replays not brought up to date, will retry", zap.Duration("after", wait), zap.Error(err))
			retry.Reset(wait)
			continue
		}
		failures = 0
	}
}

// reconcile records the parts done, stops those no longer wanted or
// led, starts those to do, and writes status.replays from the records.
func (r *Runner) reconcile(ctx context.Context) error {
	led, n := r.opts.Parts()
	r.mu.Lock()
	specs, shown, seen := r.specs, r.shown, r.seen
	r.mu.Unlock()
	if !seen {
		return nil
	}
	recordCtx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	records, err := r.opts.Journal.ReplayParts(recordCtx)
	if err != nil {
		return err
	}
	now := metav1.Now()
	set := map[checkpoint.ReplayPartKey]checkpoint.ReplayPart{}
	var finished []checkpoint.ReplayPartKey
	r.mu.Lock()
	for k, p := range r.running {
		switch {
		case !inSpec(specs, k.Replay) || led[k.Part] == nil:
			// Removed from spec.replays, or the bucket moved: its next
			// leader does the part again.
			delete(r.running, k)
		case len(p.pending) == 0:
			set[k] = checkpoint.ReplayPart{State: v1alpha1.ReplaySucceeded, TaskRuns: p.taskRuns, Events: p.events, Finished: &now}
			finished = append(finished, k)
		}
	}
	r.mu.Unlock()
	var started []*Running
	for _, k := range ToDo(specs, records, slices.Sorted(maps.Keys(led))) {
		if _, ok := set[k]; ok {
			continue
		}
		r.mu.Lock()
		_, running := r.running[k]
		r.mu.Unlock()
		if running {
			continue
		}
		spec, _ := specOf(specs, k.Replay)
		p := r.startPart(k, spec, led[k.Part])
		if len(p.pending) == 0 {
			set[k] = checkpoint.ReplayPart{State: v1alpha1.ReplaySucceeded, Finished: &now}
			continue
		}
		set[k] = checkpoint.ReplayPart{State: v1alpha1.ReplayRunning}
		started = append(started, p)
	}
	r.mu.Lock()
	for _, p := range started {
		r.running[p.key] = p
	}
	r.mu.Unlock()
	for _, p := range started {
		r.opts.Logger.Infow("Replaying", zap.String("replay", p.key.Replay), zap.String("part", p.key.Part), zap.Int("taskruns", len(p.pending)))
		for _, key := range p.pending {
			r.opts.Queue(key)
		}
	}
	obsolete := Obsolete(specs, records, n)
	if len(set) > 0 || len(obsolete) > 0 {
		if err := r.opts.Journal.RecordReplayParts(recordCtx, set, obsolete); err != nil {
			return err
		}
		for k, rec := range set {
			records[k] = rec
		}
		for _, k := range obsolete {
			delete(records, k)
		}
	}
	r.mu.Lock()
	for _, k := range finished {
		delete(r.running, k)
	}
	r.mu.Unlock()
	for _, k := range finished {
		r.opts.Logger.Infow("Replay part done", zap.String("replay", k.Replay), zap.String("part", k.Part),
			zap.Int64("taskruns", set[k].TaskRuns), zap.Int64("events", set[k].Events))
	}
	status := Status(specs, records, n)
	if equality.Semantic.DeepEqual(status, shown) {
		return nil
	}
	patch, err := json.Marshal(map[string]interface{}{"status": map[string]interface{}{"replays": status}})
	if err != nil {
		return err
	}
	_, err = r.opts.Sources.SourcesV1alpha1().TektonStepSources(r.opts.SourceNamespace).Patch(recordCtx, r.opts.SourceName,
		types.MergePatchType, patch, metav1.PatchOptions{}, "status")
	return err
}

// startPart snapshots the TaskRuns of a part: those of its bucket in the
// cache that the replay covers and whose life overlaps its window.
func (r *Runner) startPart(k checkpoint.ReplayPartKey, spec v1alpha1.ReplaySpec, has func(types.NamespacedName) bool) *Running {
	p := &Running{key: k, spec: spec, pending: map[types.UID]types.NamespacedName{}, sent: map[types.UID]map[string]bool{}}
	r.opts.Each(func(tr *pipelinev1.TaskRun) {
		if !CoversTaskRun(spec, tr.Name) {
			return
		}
		key := types.NamespacedName{Namespace: tr.Namespace, Name: tr.Name}
		if !has(key) {
			return
		}
		// Every transition is within the TaskRun's life.
		if done := tr.Status.CompletionTime; done != nil && done.Before(&spec.Since) {
			return
		}
		if spec.Until != nil && !tr.CreationTimestamp.Before(spec.Until) {
			return
		}
		p.pending[tr.UID] = key
	})
	return p
}

// specOf is the replay of that name in spec.replays.
func inSpec(specs []v1alpha1.ReplaySpec, name string) bool {
	_, ok := specOf(specs, name)
	return ok
}

func specOf(specs []v1alpha1.ReplaySpec, name string) (v1alpha1.ReplaySpec, bool) {
	i := slices.IndexFunc(specs, func(r v1alpha1.ReplaySpec) bool { return r.Name == name })
	if i < 0 {
		return v1alpha1.ReplaySpec{}, false
	}
	return specs[i], true
}
