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

// Package guard is the deletion guard (spec.deletionGuard): the source's
// finalizer on each watched TaskRun that still has events to record, so
// that deleting the TaskRun waits (up to the guard's deadline) until they
// are recorded. The decision (step) is pure; Guard carries it out.
package guard

import (
	"context"
	"slices"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"go.uber.org/zap"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/util/workqueue"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
)

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
	// covers every transition it has.
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

// Guard applies the source's deletion guard. Its queue holds the TaskRuns
// whose finalizer may have to be added or removed: fed by the informer, so
// a TaskRun is guarded however busy the delivery workers are.
type Guard struct {
	cfg       *adaptercontract.Config
	finalizer string
	metadata  metadata.Interface
	timeout   time.Duration
	logger    *zap.SugaredLogger
	queue     workqueue.TypedRateLimitingInterface[types.NamespacedName]
}

// New is the Guard of the source cfg configures: it patches the TaskRuns'
// finalizers with client, each write within timeout, and retries a failed
// one with queue's backoff.
func New(cfg *adaptercontract.Config, client metadata.Interface, timeout time.Duration, logger *zap.SugaredLogger,
	queue workqueue.TypedRateLimitingInterface[types.NamespacedName]) *Guard {
	return &Guard{cfg: cfg, finalizer: adaptercontract.GuardFinalizer(cfg.SourceUID), metadata: client, timeout: timeout, logger: logger, queue: queue}
}

// Queue holds the TaskRuns to look at.
func (g *Guard) Queue() workqueue.TypedRateLimitingInterface[types.NamespacedName] { return g.queue }

// Offer queues the TaskRun if the guard may have something to do to it:
// the source has a guard, or the TaskRun still carries its finalizer (a
// guard turned off).
func (g *Guard) Offer(tr *pipelinev1.TaskRun) {
	if g.cfg.GuardDeadline != nil || slices.Contains(tr.Finalizers, g.finalizer) {
		g.queue.Add(types.NamespacedName{Namespace: tr.Namespace, Name: tr.Name})
	}
}

// Apply applies the deletion guard to the TaskRun, as read from the cache;
// settled reports whether it is final and its checkpoint covers every
// transition it has, and is asked only when the guard may act.
func (g *Guard) Apply(ctx context.Context, tr *pipelinev1.TaskRun, settled func(*pipelinev1.TaskRun) bool) error {
	s := guardState{
		guarded:  slices.Contains(tr.Finalizers, g.finalizer),
		deleting: tr.DeletionTimestamp,
	}
	if d := g.cfg.GuardDeadline; d != nil {
		s.enabled, s.deadline = true, d.Duration
	}
	if !s.enabled && !s.guarded {
		return nil
	}
	s.settled = settled(tr)
	action, recheck := guardStep(s, time.Now())
	key := types.NamespacedName{Namespace: tr.Namespace, Name: tr.Name}
	if recheck > 0 {
		g.queue.AddAfter(key, recheck)
	}
	if action == guardKeep {
		return nil
	}
	if action == guardRemove && s.enabled && !s.settled {
		g.logger.Warnw("Deletion guard deadline passed: releasing a deleted TaskRun whose events are not all recorded",
			zap.String("taskrun", key.String()), zap.Duration("deadline", s.deadline))
	}
	writeCtx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	return adaptercontract.SetGuardFinalizer(writeCtx, g.metadata, tr.Namespace, tr.Name, tr.ResourceVersion,
		tr.Finalizers, g.finalizer, action == guardAdd)
}
