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

// Package guard is the controller's half of the deletion guard
// (spec.deletionGuard): it removes a source's finalizer from the TaskRuns
// that source's adapter cannot release, because the source is gone or its
// guard was turned off, or because a deleted TaskRun's deadline passed
// while no adapter ran. The adapter adds and removes the finalizer in the
// normal course; this makes sure no TaskRun is ever held for good.
package guard

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"
	"knative.dev/pkg/reconciler"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	sourcelisters "github.com/tektonstep/tekton-step-source/pkg/client/listers/sources/v1alpha1"
)

// Grace is how long after a deleted TaskRun's deadline the controller
// waits before it releases the TaskRun itself: the source's adapter
// releases it at the deadline when it runs. A variable so that tests can
// shorten it.
var Grace = time.Minute

// release decides whether the finalizer of the source src (nil: no such
// source) goes from a TaskRun whose deletion was asked for at deleting
// (nil: not deleted), and else when to look again (0: at its next change).
func release(src *v1alpha1.TektonStepSource, deleting *metav1.Time, now time.Time, grace time.Duration) (bool, time.Duration) {
	if src == nil || src.DeletionTimestamp != nil || src.Spec.DeletionGuard == nil {
		return true, 0
	}
	if deleting == nil {
		return false, 0
	}
	// As the source's validation bounds it (a source whose spec the
	// controller refused still holds TaskRuns its adapter guarded).
	deadline := v1alpha1.DefaultGuardDeadline
	if d := src.Spec.DeletionGuard.Deadline; d != nil && d.Duration > 0 {
		deadline = min(d.Duration, v1alpha1.MaxGuardDeadline)
	}
	if left := adaptercontract.GuardLeft(*deleting, deadline+grace, now); left > 0 {
		return false, left
	}
	return true, 0
}

// Reconciler releases the TaskRuns no adapter will. It is leader-aware,
// as sharedmain's leader election requires of every reconciler: each
// TaskRun is handled by the controller replica that leads its bucket.
type Reconciler struct {
	reconciler.LeaderAwareFuncs

	Metadata metadata.Interface
	// TaskRuns lists the TaskRuns' metadata (a metadata-only informer).
	TaskRuns cache.GenericLister
	Sources  sourcelisters.TektonStepSourceLister
}

// Reconcile implements controller.Reconciler for a TaskRun's key: it
// removes one finalizer at a time (the write changes the TaskRun, which
// brings it back for the next).
func (r *Reconciler) Reconcile(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	if !r.IsLeaderFor(types.NamespacedName{Namespace: ns, Name: name}) {
		return controller.NewSkipKey(key)
	}
	obj, err := r.TaskRuns.ByNamespace(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	tr, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return nil
	}
	uids := adaptercontract.GuardedBy(tr.Finalizers)
	if len(uids) == 0 {
		return nil
	}
	sources, err := r.Sources.List(labels.Everything())
	if err != nil {
		return err
	}
	byUID := make(map[string]*v1alpha1.TektonStepSource, len(sources))
	for _, s := range sources {
		byUID[string(s.UID)] = s
	}
	var recheck time.Duration
	for _, uid := range uids {
		drop, after := release(byUID[uid], tr.DeletionTimestamp, time.Now(), Grace)
		if drop {
			logging.FromContext(ctx).Infow("Releasing a TaskRun from a deletion guard its adapter does not keep",
				"taskrun", key, "source", uid)
			return adaptercontract.SetGuardFinalizer(ctx, r.Metadata, ns, name, tr.ResourceVersion,
				tr.Finalizers, adaptercontract.GuardFinalizer(uid), false)
		}
		if after > 0 && (recheck == 0 || after < recheck) {
			recheck = after
		}
	}
	if recheck > 0 {
		return controller.NewRequeueAfter(recheck)
	}
	return nil
}
