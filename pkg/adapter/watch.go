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
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektoninformers "github.com/tektoncd/pipeline/pkg/client/informers/externalversions"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
)

// This file watches TaskRuns: the informers, the trimmed cache, and the
// handlers that queue TaskRuns for delivery.

// setupWatches prepares the TaskRun watches (watchSet): each an informer
// with the selectors applied server-side and the cached objects trimmed,
// whose handlers queue the TaskRuns of the namespaces it handles. A
// cluster-wide watch for a list of namespaces (ClusterWatch) brings other
// namespaces' TaskRuns too: they are cached as bare names (trim) and never
// handled.
func (a *Adapter) setupWatches() {
	a.watches = newWatchSet(a.cfg, func(w adaptercontract.Watch, keep func(string) bool) *taskRunWatch {
		factory := tektoninformers.NewSharedInformerFactoryWithOptions(a.opts.Tekton, 0,
			tektoninformers.WithNamespace(w.Namespace),
			tektoninformers.WithTweakListOptions(func(o *metav1.ListOptions) {
				o.LabelSelector, o.FieldSelector = w.LabelSelector, w.FieldSelector
			}),
			tektoninformers.WithTransform(func(obj interface{}) (interface{}, error) { return a.trim(obj, keep) }))
		inf := factory.Tekton().V1().TaskRuns()
		_, _ = inf.Informer().AddEventHandler(cache.FilteringResourceEventHandler{
			FilterFunc: func(obj interface{}) bool {
				if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = d.Obj
				}
				tr, ok := obj.(*pipelinev1.TaskRun)
				return ok && keep(tr.Namespace)
			},
			Handler: cache.ResourceEventHandlerFuncs{
				AddFunc:    a.enqueue,
				UpdateFunc: func(_, obj interface{}) { a.enqueue(obj) },
				DeleteFunc: a.onDelete,
			},
		})
		return &taskRunWatch{informer: inf.Informer(), lister: inf.Lister(), stop: make(chan struct{})}
	})
}

// trim keeps only what transitions and events need in the informer cache:
// no managedFields, no spec (status.taskSpec has the resolved steps), no
// results, sidecars or provenance, and only this source's annotation. Of a
// TaskRun its watch does not handle (keep), only the name.
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
	tr.ManagedFields = nil
	tr.Spec = pipelinev1.TaskRunSpec{}
	key := checkpoint.Key(a.cfg.SourceUID)
	if v, ok := tr.Annotations[key]; ok {
		tr.Annotations = map[string]string{key: v}
	} else {
		tr.Annotations = nil
	}
	trimStatus(&tr.Status)
	for i := range tr.Status.RetriesStatus {
		trimStatus(&tr.Status.RetriesStatus[i])
		tr.Status.RetriesStatus[i].TaskSpec = nil
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
	p, err := checkpoint.FromTaskRun(tr, a.cfg.SourceUID)
	if err != nil {
		return false
	}
	for _, t := range transitions.ForTaskRun(tr, a.cfg.NotBefore.Time) {
		if !p.Done(t) {
			return false
		}
	}
	return true
}

// trimStatus keeps of a status what transitions and events need: the
// Succeeded condition without its message (whether the pod runs, whether
// the attempt is done and why), podName, the times and the steps' states
// and results.
func trimStatus(st *pipelinev1.TaskRunStatus) {
	var kept duckv1.Conditions
	if c := st.GetCondition(apis.ConditionSucceeded); c != nil {
		kept = duckv1.Conditions{{Type: c.Type, Status: c.Status, Reason: c.Reason, LastTransitionTime: c.LastTransitionTime}}
	}
	st.Conditions = kept
	st.Annotations = nil
	st.Results = nil
	st.Sidecars = nil
	st.Provenance = nil
	st.Artifacts = nil
	st.SpanContext = nil
	for i := range st.Steps {
		// The step's results stay: its terminal event carries them
		// (bounded by Tekton's termination message, 4 KiB a pod).
		st.Steps[i].Provenance = nil
		st.Steps[i].Inputs = nil
		st.Steps[i].Outputs = nil
	}
}

func (a *Adapter) enqueue(obj interface{}) {
	if tr, ok := obj.(*pipelinev1.TaskRun); ok {
		if key := (types.NamespacedName{Namespace: tr.Namespace, Name: tr.Name}); a.owns(key) {
			a.queue.Add(key)
			if a.guardWanted(tr) {
				a.guards.Add(key)
			}
		}
	}
}

// onDelete queues a deleted TaskRun whose last state may still hold
// undelivered transitions (see deletedRuns); sync forgets it once they are
// delivered. The final object of a delete the watch missed
// (DeletedFinalStateUnknown) is the last state the cache had.
func (a *Adapter) onDelete(obj interface{}) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	tr, ok := obj.(*pipelinev1.TaskRun)
	if !ok {
		return
	}
	// Nothing of it is left to replay.
	a.replays.finish(tr.UID, nil)
	a.replayRetries.release(tr.UID)
	key := types.NamespacedName{Namespace: tr.Namespace, Name: tr.Name}
	if a.leader != nil && !a.leader.IsLeaderFor(key) {
		// Another replica leads its bucket, and removes its journal entry
		// once it has delivered the rest.
		a.retries.release(tr.UID)
		a.ledger.drop(tr.UID)
		return
	}
	// Kept also while a promoted bucket's journal is still being read:
	// the promotion queues it then.
	a.deleted.add(tr)
	a.queue.Add(key)
}
