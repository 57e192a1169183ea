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

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonlisters "github.com/tektoncd/pipeline/pkg/client/listers/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/leanwatch"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/watches"
	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
)

// This file watches TaskRuns: the informers, the trimmed cache, and the
// handlers that queue TaskRuns for delivery.

// setupWatches prepares the TaskRun watches (watches.Set): each an informer
// with the selectors applied server-side, decoding only the fields
// transitions and events use (leanwatch), whose handlers queue the
// TaskRuns of the namespaces it handles. A cluster-wide watch for a list
// of namespaces (ClusterWatch) brings other namespaces' TaskRuns too: they
// are cached as bare names (trim) and never handled.
func (a *Adapter) setupWatches() {
	decoder := leanwatch.NewDecoder(checkpoint.Key(a.opts.Config.SourceUID), transitions.Final)
	a.watches = watches.NewSet(a.opts.Config, func(w adaptercontract.Watch, keep func(string) bool) *watches.Watch {
		lw := leanwatch.NewListWatch(a.opts.Tekton.TektonV1().RESTClient(), w.Namespace, w.LabelSelector, w.FieldSelector, decoder)
		inf := cache.NewSharedIndexInformerWithOptions(lw, &pipelinev1.TaskRun{}, cache.SharedIndexInformerOptions{
			Indexers: cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc},
		})
		// As informer factories do: it fails only on a started informer.
		_ = inf.SetTransform(func(obj interface{}) (interface{}, error) { return a.trim(obj, keep) })
		_, _ = inf.AddEventHandler(cache.FilteringResourceEventHandler{
			FilterFunc: func(obj interface{}) bool {
				if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = d.Obj
				}
				tr, ok := obj.(*pipelinev1.TaskRun)
				return ok && keep(tr.Namespace)
			},
			Handler: cache.ResourceEventHandlerFuncs{
				AddFunc:    a.onAdd,
				UpdateFunc: a.onUpdate,
				DeleteFunc: a.onDelete,
			},
		})
		return watches.NewWatch(inf, tektonlisters.NewTaskRunLister(inf.GetIndexer()))
	})
}

// trim drops what can no longer be sent from a decoded TaskRun (leanwatch
// already left out everything transitions and events do not use): of a
// TaskRun its watch does not handle (keep), all but the name; of a settled
// one, its steps, task spec and retries.
func (a *Adapter) trim(obj interface{}, keep func(namespace string) bool) (interface{}, error) {
	tr, ok := obj.(*pipelinev1.TaskRun)
	if !ok {
		return obj, nil
	}
	if !keep(tr.Namespace) {
		// Brought by a cluster-wide watch for other namespaces: only
		// what tells the cache's entries apart.
		return &pipelinev1.TaskRun{ObjectMeta: metav1.ObjectMeta{
			Name: tr.Name, Namespace: tr.Namespace, UID: tr.UID, ResourceVersion: tr.ResourceVersion,
		}}, nil
	}
	if a.settled(tr) {
		// Nothing can be sent for this version: keep only what tells it
		// apart. A retry clears completionTime, and its version arrives
		// whole.
		tr.Status.TaskSpec = nil
		tr.Status.Steps = nil
		tr.Status.RetriesStatus = nil
	}
	return tr, nil
}

// settled reports whether the TaskRun is final (transitions.Final) and its
// checkpoint already covers every transition it has (none, when it
// finished before the source was created). Most of a long-lived cache is
// such TaskRuns, and their steps and task specs are most of its memory.
func (a *Adapter) settled(tr *pipelinev1.TaskRun) bool {
	if !transitions.Final(tr) {
		return false
	}
	p, err := a.progress.Checkpoint(tr)
	if err != nil {
		return false
	}
	for _, t := range transitions.ForTaskRun(tr, a.opts.Config.NotBefore.Time) {
		if !p.Done(t) {
			return false
		}
	}
	return true
}

// onUpdate queues the TaskRun's new state. An update can also bring
// another TaskRun of the same name: when the watch missed a deletion and
// the re-creation after it (a relist after the watch's resource version
// expired), the informer reports the successor as an update of the deleted
// one. The deleted one goes the way of a deletion first, so the
// transitions of its last state are still delivered.
func (a *Adapter) onUpdate(old, obj interface{}) {
	if was, ok := old.(*pipelinev1.TaskRun); ok {
		if tr, ok := obj.(*pipelinev1.TaskRun); ok && tr.UID != was.UID {
			a.onDelete(was)
		}
	}
	a.onAdd(obj)
}

// onAdd queues a TaskRun the watch brought, and records that the handlers
// saw it (streams.Table.Saw; only the handlers do, not a promotion's queueing of
// the cache, which may be ahead of them).
func (a *Adapter) onAdd(obj interface{}) {
	if tr, ok := obj.(*pipelinev1.TaskRun); ok {
		a.streams.Saw(tr)
	}
	a.enqueue(obj)
}

func (a *Adapter) enqueue(obj interface{}) {
	if tr, ok := obj.(*pipelinev1.TaskRun); ok {
		if key := (types.NamespacedName{Namespace: tr.Namespace, Name: tr.Name}); a.owns(key) {
			a.queue.Add(key)
			a.guard.Offer(tr)
		}
	}
}

// onDelete queues a deleted TaskRun whose last state may still hold
// undelivered transitions (see Adapter.deleted). The final object of a delete the watch missed
// (DeletedFinalStateUnknown) is the last state the cache had.
func (a *Adapter) onDelete(obj interface{}) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	tr, ok := obj.(*pipelinev1.TaskRun)
	if !ok {
		return
	}
	a.deleted(tr)
}

// guardKey applies the deletion guard to the TaskRun of the key, as the
// watch last saw it, if this replica handles it.
func (a *Adapter) guardKey(ctx context.Context, key types.NamespacedName) error {
	if !a.owns(key) {
		return nil
	}
	tr := a.cached(key)
	if tr == nil {
		return nil
	}
	return a.guard.Apply(ctx, tr, a.settled)
}

// cached is the TaskRun of the name as the watch last saw it, nil when it
// holds none (a lister of the informer's cache fails only with NotFound).
func (a *Adapter) cached(key types.NamespacedName) *pipelinev1.TaskRun {
	lister := a.watches.Lister(key.Namespace)
	if lister == nil {
		return nil
	}
	tr, err := lister.Get(key.Name)
	if err != nil {
		return nil
	}
	return tr
}
