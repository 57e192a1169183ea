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
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/replay"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/streams"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	sourceinformers "github.com/tektonstep/tekton-step-source/pkg/client/informers/externalversions"
)

// This file runs the source's replays (spec.replays; the decisions are in
// package replay). The adapter watches its own TektonStepSource for them.
// A replay's part (the TaskRuns of one bucket) starts with a snapshot of
// the bucket's TaskRuns; each is replayed by the delivery worker that
// handles the TaskRun, after its live events, so a TaskRun's live events
// keep their order and its replayed ones are sent in theirs. A part is
// recorded in the journal when it starts and when it is done, and
// status.replays is written from those records.

// replays is the replay state of this process.
type replays struct {
	mu sync.Mutex
	// specs is spec.replays and shown status.replays, as last seen.
	specs []v1alpha1.ReplaySpec
	shown []v1alpha1.ReplayStatus
	seen  bool
	// running are the parts this process replays.
	running map[checkpoint.ReplayPartKey]*replayPart
	wake    chan struct{}
	// journal records the parts (in the source's journal ConfigMap).
	journal *checkpoint.Journal
}

// replayPart is a part of a replay being run.
type replayPart struct {
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

func newReplays() *replays {
	return &replays{running: map[checkpoint.ReplayPartKey]*replayPart{}, wake: make(chan struct{}, 1)}
}

// kick wakes the replay loop.
func (r *replays) kick() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// observe takes in the source as its watch shows it.
func (r *replays) observe(src *v1alpha1.TektonStepSource) {
	r.mu.Lock()
	r.specs, r.shown, r.seen = src.Spec.Replays, src.Status.Replays, true
	r.mu.Unlock()
	r.kick()
}

// partsOf lists the running parts that still have the TaskRun to replay.
func (r *replays) partsOf(uid types.UID) []*replayPart {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*replayPart
	for _, p := range r.running {
		if _, ok := p.pending[uid]; ok {
			out = append(out, p)
		}
	}
	return out
}

// wasSent reports whether the part re-sent the event of the TaskRun.
func (r *replays) wasSent(p *replayPart, uid types.UID, id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return p.sent[uid][id]
}

// markSent records that the part re-sent the event.
func (r *replays) markSent(p *replayPart, uid types.UID, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.sent[uid] == nil {
		p.sent[uid] = map[string]bool{}
		p.taskRuns++
	}
	p.sent[uid][id] = true
	p.events++
}

// finish takes the TaskRun off the pending list of the parts given (all
// running parts when nil: it is gone), and wakes the loop when a part is
// done.
func (r *replays) finish(uid types.UID, parts []*replayPart) {
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
		r.kick()
	}
}

// forget takes the TaskRuns that match off every running part (their
// namespace left: they are not replayed), and wakes the loop.
func (r *replays) forget(match func(types.NamespacedName) bool) {
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
	r.kick()
}

// setupReplays watches the source itself (by name: its adapter may read
// nothing else of its kind) for spec.replays.
func (a *Adapter) setupReplays() {
	a.replays = newReplays()
	a.replays.journal = checkpoint.SourceJournal(a.opts.Kube, a.cfg.SourceNamespace, a.cfg.SourceUID)
	factory := sourceinformers.NewSharedInformerFactoryWithOptions(a.opts.Sources, 0,
		sourceinformers.WithNamespace(a.cfg.SourceNamespace),
		sourceinformers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", a.cfg.SourceName).String()
		}))
	observe := func(obj interface{}) {
		// A source recreated under the name is another source.
		if src, ok := obj.(*v1alpha1.TektonStepSource); ok && string(src.UID) == a.cfg.SourceUID {
			a.replays.observe(src)
			a.followNamespaces(src)
		}
	}
	a.sourceInformer = factory.Sources().V1alpha1().TektonStepSources().Informer()
	_, _ = a.sourceInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    observe,
		UpdateFunc: func(_, obj interface{}) { observe(obj) },
	})
}

// runReplays carries out the replays until ctx is done: on every change of
// the source, of the buckets led, and whenever a part is done.
func (a *Adapter) runReplays(ctx context.Context) {
	retry := time.NewTimer(0)
	<-retry.C
	failures := 0
	for {
		select {
		case <-ctx.Done():
			retry.Stop()
			return
		case <-a.replays.wake:
		case <-retry.C:
		}
		if !a.watches.synced() {
			// A namespace that joined is being listed: a part started
			// now would miss its TaskRuns.
			retry.Reset(a.opts.RetryBaseDelay)
			continue
		}
		if err := a.reconcileReplays(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			wait := min(a.opts.RetryBaseDelay<<min(failures, 20), a.opts.RetryMaxDelay)
			a.logger.Warnw("Replays not brought up to date, will retry", zap.Duration("after", wait), zap.Error(err))
			retry.Reset(wait)
			continue
		}
		failures = 0
	}
}

// reconcileReplays records the parts done, stops those no longer wanted or
// led, starts those to do, and writes status.replays from the records.
func (a *Adapter) reconcileReplays(ctx context.Context) error {
	r := a.replays
	led, n := a.owner.Parts()
	r.mu.Lock()
	specs, shown, seen := r.specs, r.shown, r.seen
	r.mu.Unlock()
	if !seen {
		return nil
	}
	recordCtx, cancel := context.WithTimeout(ctx, a.opts.SendTimeout)
	defer cancel()
	records, err := a.replays.journal.ReplayParts(recordCtx)
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
	var started []*replayPart
	for _, k := range replay.ToDo(specs, records, slices.Sorted(maps.Keys(led))) {
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
		p := a.startPart(k, spec, led[k.Part])
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
		a.logger.Infow("Replaying", zap.String("replay", p.key.Replay), zap.String("part", p.key.Part), zap.Int("taskruns", len(p.pending)))
		for _, key := range p.pending {
			a.queue.Add(key)
		}
	}
	obsolete := replay.Obsolete(specs, records, n)
	if len(set) > 0 || len(obsolete) > 0 {
		if err := a.replays.journal.RecordReplayParts(recordCtx, set, obsolete); err != nil {
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
		a.logger.Infow("Replay part done", zap.String("replay", k.Replay), zap.String("part", k.Part),
			zap.Int64("taskruns", set[k].TaskRuns), zap.Int64("events", set[k].Events))
	}
	status := replay.Status(specs, records, n)
	if equality.Semantic.DeepEqual(status, shown) {
		return nil
	}
	patch, err := json.Marshal(map[string]interface{}{"status": map[string]interface{}{"replays": status}})
	if err != nil {
		return err
	}
	_, err = a.opts.Sources.SourcesV1alpha1().TektonStepSources(a.cfg.SourceNamespace).Patch(recordCtx, a.cfg.SourceName,
		types.MergePatchType, patch, metav1.PatchOptions{}, "status")
	return err
}

// startPart snapshots the TaskRuns of a part: those of its bucket in the
// cache that the replay covers and whose life overlaps its window.
func (a *Adapter) startPart(k checkpoint.ReplayPartKey, spec v1alpha1.ReplaySpec, has func(types.NamespacedName) bool) *replayPart {
	p := &replayPart{key: k, spec: spec, pending: map[types.UID]types.NamespacedName{}, sent: map[types.UID]map[string]bool{}}
	a.watches.each(func(tr *pipelinev1.TaskRun) {
		if !replay.CoversTaskRun(spec, tr.Name) {
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

// replayTaskRun re-sends, for each running part that has the TaskRun to
// replay, its events in the part's window, in order. It runs after the
// TaskRun's live events were delivered, on the worker that has its key.
func (a *Adapter) replayTaskRun(ctx context.Context, key types.NamespacedName, uid types.UID) error {
	parts := a.replays.partsOf(uid)
	if len(parts) == 0 {
		return nil
	}
	tr, err := a.fetchTaskRun(ctx, key, uid)
	if err != nil {
		return err
	}
	if tr == nil {
		a.replays.finish(uid, parts)
		return nil
	}
	progress := a.progress.Resume(tr)
	all := transitions.AfterReported(transitions.ForTaskRun(tr, time.Time{}), progress.Done)
	live := map[string]bool{}
	for _, t := range transitions.ForTaskRun(tr, a.cfg.NotBefore.Time) {
		live[t.ID(uid)] = true
	}
	// A transition the live stream has yet to send is not replayed: it is
	// sent live.
	pending := func(t transitions.Transition) bool { return live[t.ID(uid)] && !progress.Done(t) }
	for _, p := range parts {
		for _, t := range replay.Select(all, p.spec, pending) {
			id := t.ID(uid)
			if a.replays.wasSent(p, uid, id) {
				continue
			}
			if !a.owns(key) {
				return nil
			}
			if err := a.deliver(ctx, tr, t, streams.Replay, p.key.Replay); err != nil {
				return err
			}
			a.replays.markSent(p, uid, id)
		}
	}
	a.replays.finish(uid, parts)
	return nil
}

// fetchTaskRun reads the TaskRun whole from the apiserver (the cache keeps
// no steps of a TaskRun whose events were all delivered); nil when it is
// gone or was recreated. It lists by name: the adapter may list TaskRuns,
// not get them.
func (a *Adapter) fetchTaskRun(ctx context.Context, key types.NamespacedName, uid types.UID) (*pipelinev1.TaskRun, error) {
	readCtx, cancel := context.WithTimeout(ctx, a.opts.SendTimeout)
	defer cancel()
	list, err := a.opts.Tekton.TektonV1().TaskRuns(key.Namespace).List(readCtx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", key.Name).String(),
	})
	if err != nil {
		return nil, err
	}
	for i := range list.Items {
		if list.Items[i].UID == uid {
			return &list.Items[i], nil
		}
	}
	return nil, nil
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
