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

package guard

import (
	"context"
	"slices"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/injection"
	"knative.dev/pkg/logging"
	"knative.dev/pkg/reconciler"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	tektonstepsourceinformer "github.com/tektonstep/tekton-step-source/pkg/client/injection/informers/sources/v1alpha1/tektonstepsource"
)

// NewController builds the deletion guard's controller
// (injection.ControllerConstructor). It watches TaskRuns' metadata only
// (names, finalizers, deletion times: about a kilobyte per TaskRun), and
// queues those that carry a guard finalizer, and, when a source is deleted
// or its guard turned off, those of that source.
func NewController(ctx context.Context, _ configmap.Watcher) *controller.Impl {
	logger := logging.FromContext(ctx)
	client, err := metadata.NewForConfig(injection.GetConfig(ctx))
	if err != nil {
		logger.Fatalw("Cannot build the metadata client", "error", err)
	}
	factory := metadatainformer.NewSharedInformerFactory(client, 0)
	taskRuns := factory.ForResource(adaptercontract.TaskRuns)
	// Only what the guard reads stays in the cache.
	if err := taskRuns.Informer().SetTransform(slim); err != nil {
		logger.Fatalw("Cannot set the TaskRun cache's transform", "error", err)
	}
	sources := tektonstepsourceinformer.Get(ctx)

	r := &Reconciler{Metadata: client, TaskRuns: taskRuns.Lister(), Sources: sources.Lister()}
	// A replica that comes to lead a bucket looks at its guarded TaskRuns.
	r.LeaderAwareFuncs = reconciler.LeaderAwareFuncs{
		PromoteFunc: func(bkt reconciler.Bucket, enqueue func(reconciler.Bucket, types.NamespacedName)) error {
			return eachTaskRun(taskRuns.Lister(), func(tr *metav1.PartialObjectMetadata) bool { return guarded(tr) },
				func(key types.NamespacedName) { enqueue(bkt, key) })
		},
	}
	impl := controller.NewContext(ctx, r, controller.ControllerOptions{WorkQueueName: "deletion-guard", Logger: logger})

	// A guarded TaskRun when it appears (at start, all of them) and when its
	// finalizers or deletion change; not on every status write.
	_, _ = taskRuns.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) {
			if guarded(obj) {
				impl.Enqueue(obj)
			}
		},
		UpdateFunc: func(oldObj, newObj interface{}) {
			old, ok1 := oldObj.(*metav1.PartialObjectMetadata)
			tr, ok2 := newObj.(*metav1.PartialObjectMetadata)
			if ok1 && ok2 && guarded(tr) &&
				(!slices.Equal(old.Finalizers, tr.Finalizers) || !old.DeletionTimestamp.Equal(tr.DeletionTimestamp)) {
				impl.Enqueue(tr)
			}
		},
	})
	// A source deleted, or its guard changed (turned off, another
	// deadline): its TaskRuns (a scan of the cache, only then; at start
	// every guarded TaskRun is queued anyway).
	enqueueGuardedBy := func(src *v1alpha1.TektonStepSource) {
		finalizer := adaptercontract.GuardFinalizer(string(src.UID))
		_ = eachTaskRun(taskRuns.Lister(), func(tr *metav1.PartialObjectMetadata) bool {
			return slices.Contains(tr.Finalizers, finalizer)
		}, func(key types.NamespacedName) { impl.EnqueueKey(key) })
	}
	_, _ = sources.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(oldObj, newObj interface{}) {
			old, ok1 := oldObj.(*v1alpha1.TektonStepSource)
			src, ok2 := newObj.(*v1alpha1.TektonStepSource)
			if ok1 && ok2 && !equality.Semantic.DeepEqual(old.Spec.DeletionGuard, src.Spec.DeletionGuard) {
				enqueueGuardedBy(src)
			}
		},
		DeleteFunc: func(obj interface{}) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if src, ok := obj.(*v1alpha1.TektonStepSource); ok {
				enqueueGuardedBy(src)
			}
		},
	})
	factory.Start(ctx.Done())
	return impl
}

// slim keeps a TaskRun's name, namespace, UID, resourceVersion,
// finalizers and deletion time: no labels, annotations or managedFields.
func slim(obj interface{}) (interface{}, error) {
	if tr, ok := obj.(*metav1.PartialObjectMetadata); ok {
		tr.Labels, tr.Annotations, tr.ManagedFields, tr.OwnerReferences = nil, nil, nil, nil
	}
	return obj, nil
}

// eachTaskRun calls do with the key of every cached TaskRun that match
// selects (a scan of the cache: on a promotion or a source's guard change
// only).
func eachTaskRun(lister cache.GenericLister, match func(*metav1.PartialObjectMetadata) bool, do func(types.NamespacedName)) error {
	all, err := lister.List(labels.Everything())
	if err != nil {
		return err
	}
	for _, obj := range all {
		if tr, ok := obj.(*metav1.PartialObjectMetadata); ok && match(tr) {
			do(types.NamespacedName{Namespace: tr.Namespace, Name: tr.Name})
		}
	}
	return nil
}

// guarded reports whether a TaskRun's metadata carries a guard finalizer.
func guarded(obj interface{}) bool {
	tr, ok := obj.(*metav1.PartialObjectMetadata)
	return ok && len(adaptercontract.GuardedBy(tr.Finalizers)) > 0
}
