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
	"slices"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
)

// This file is the deletion guard (spec.deletionGuard): the source's
// finalizer on each watched TaskRun that still has events to record.

// guardAction is what the deletion guard does to a TaskRun.
type guardAction int

const (
	guardKeep guardAction = iota
	guardAdd
	guardRemove
)

// guardState is what the guard's decision depends on.
type guardState struct {
	// enabled: the source has a deletion guard; deadline is its deadline.
	enabled  bool
	deadline time.Duration
	// guarded: the TaskRun carries the source's finalizer.
	guarded bool
	// settled: the TaskRun is complete and its checkpoint annotation
	// covers every transition it has (Adapter.settled).
	settled bool
	// deleting is when the TaskRun's deletion was asked for, or nil.
	deleting *metav1.Time
}

// guardStep decides what the guard does to a TaskRun now, and when to
// look again (0: at its next change). The finalizer goes on a TaskRun
// with events still to record, unless it is already being deleted (the
// apiserver takes no new finalizer then), and comes off once the events
// are recorded, when the guard is off, or when the TaskRun has been
// deleting for the deadline.
func guardStep(s guardState, now time.Time) (guardAction, time.Duration) {
	switch {
	case !s.enabled || s.settled:
		if s.guarded {
			return guardRemove, 0
		}
		return guardKeep, 0
	case s.deleting != nil:
		if !s.guarded {
			return guardKeep, 0
		}
		if left := adaptercontract.GuardLeft(*s.deleting, s.deadline, now); left > 0 {
			return guardKeep, left
		}
		return guardRemove, 0
	case !s.guarded:
		return guardAdd, 0
	}
	return guardKeep, 0
}

// guardWanted reports whether the guard may have something to do to the
// TaskRun: the source has a guard, or the TaskRun still carries its
// finalizer (a guard turned off).
func (a *Adapter) guardWanted(tr *pipelinev1.TaskRun) bool {
	return a.cfg.GuardDeadline != nil || slices.Contains(tr.Finalizers, a.guardFinalizer)
}

// guardKey applies the deletion guard to the TaskRun of the key, if this
// replica handles it.
func (a *Adapter) guardKey(ctx context.Context, key types.NamespacedName) error {
	if !a.owns(key) {
		return nil
	}
	lister := a.watches.lister(key.Namespace)
	if lister == nil {
		return nil
	}
	tr, err := lister.Get(key.Name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return a.guard(ctx, tr)
}

// guard applies the deletion guard to the TaskRun, as read from the cache.
func (a *Adapter) guard(ctx context.Context, tr *pipelinev1.TaskRun) error {
	s := guardState{
		guarded:  slices.Contains(tr.Finalizers, a.guardFinalizer),
		deleting: tr.DeletionTimestamp,
	}
	if g := a.cfg.GuardDeadline; g != nil {
		s.enabled, s.deadline = true, g.Duration
	}
	if !s.enabled && !s.guarded {
		return nil
	}
	s.settled = a.settled(tr)
	action, recheck := guardStep(s, time.Now())
	key := types.NamespacedName{Namespace: tr.Namespace, Name: tr.Name}
	if recheck > 0 {
		a.guards.AddAfter(key, recheck)
	}
	if action == guardKeep {
		return nil
	}
	if action == guardRemove && s.enabled && !s.settled {
		a.logger.Warnw("Deletion guard deadline passed: releasing a deleted TaskRun whose events are not all recorded",
			zap.String("taskrun", key.String()), zap.Duration("deadline", s.deadline))
	}
	writeCtx, cancel := context.WithTimeout(ctx, a.opts.SendTimeout)
	defer cancel()
	return adaptercontract.SetGuardFinalizer(writeCtx, a.opts.Metadata, tr.Namespace, tr.Name, tr.ResourceVersion,
		tr.Finalizers, a.guardFinalizer, action == guardAdd)
}
