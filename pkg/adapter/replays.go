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
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
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

// This file runs the source's replays (spec.replays; package replay
// decides): the watch of the source itself, and the re-sending of a
// TaskRun's events, on the delivery worker that has the TaskRun, after its
// live events.

// setupReplays watches the source itself (by name: its adapter may read
// nothing else of its kind) for spec.replays and, with a namespace
// selector, for the namespaces its status confirms.
func (a *Adapter) setupReplays() {
	a.replays = replay.NewRunner(replay.Options{
		Sources: a.opts.Sources, Journal: checkpoint.SourceJournal(a.opts.Kube, a.opts.Config.SourceNamespace, a.opts.Config.SourceUID),
		SourceName: a.opts.Config.SourceName, SourceNamespace: a.opts.Config.SourceNamespace,
		Timeout: a.opts.SendTimeout, RetryBase: a.opts.RetryBaseDelay, RetryMax: a.opts.RetryMaxDelay,
		// Late-bound: leader election replaces the owner after.
		Parts:  func() (map[string]func(types.NamespacedName) bool, uint32) { return a.owner.Parts() },
		Each:   a.watches.Each,
		Synced: a.watches.Synced,
		Queue:  a.queue.Add,
		Logger: a.logger,
	})
	factory := sourceinformers.NewSharedInformerFactoryWithOptions(a.opts.Sources, 0,
		sourceinformers.WithNamespace(a.opts.Config.SourceNamespace),
		sourceinformers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", a.opts.Config.SourceName).String()
		}))
	observe := func(obj interface{}) {
		// A source recreated under the name is another source.
		if src, ok := obj.(*v1alpha1.TektonStepSource); ok && string(src.UID) == a.opts.Config.SourceUID {
			a.replays.Observe(src)
			a.followNamespaces(src)
		}
	}
	a.sourceInformer = factory.Sources().V1alpha1().TektonStepSources().Informer()
	_, _ = a.sourceInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    observe,
		UpdateFunc: func(_, obj interface{}) { observe(obj) },
	})
}

// replayTaskRun re-sends, for each running part that has the TaskRun to
// replay, its events in the part's window, in order. It runs after the
// TaskRun's live events were delivered, on the worker that has its key.
func (a *Adapter) replayTaskRun(ctx context.Context, key types.NamespacedName, uid types.UID) error {
	parts := a.replays.PartsOf(uid)
	if len(parts) == 0 {
		return nil
	}
	tr, err := a.fetchTaskRun(ctx, key, uid)
	if err != nil {
		return err
	}
	if tr == nil {
		a.replays.Finish(uid, parts)
		return nil
	}
	progress := a.progress.Resume(tr)
	all := transitions.AfterReported(transitions.ForTaskRun(tr, time.Time{}), progress.Done)
	live := map[string]bool{}
	for _, t := range transitions.ForTaskRun(tr, a.opts.Config.NotBefore.Time) {
		live[t.ID(uid)] = true
	}
	// A transition the live stream has yet to send is not replayed: it is
	// sent live.
	pending := func(t transitions.Transition) bool { return live[t.ID(uid)] && !progress.Done(t) }
	for _, p := range parts {
		for _, t := range replay.Select(all, p.Spec(), pending) {
			id := t.ID(uid)
			if a.replays.WasSent(p, uid, id) {
				continue
			}
			owned, err := a.sendOwned(key, func() error { return a.deliver(ctx, tr, t, streams.Replay, p.Name()) })
			if !owned || err != nil {
				return err
			}
			a.replays.Sent(p, uid, id)
		}
	}
	a.replays.Finish(uid, parts)
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
