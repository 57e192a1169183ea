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
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/types"
	"knative.dev/pkg/reconciler"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/streams"
)

// This file is the lifecycle of the TaskRuns' streams: what happens when
// one is deleted, when a bucket moves to another replica and when a
// namespace leaves. It is the only code that tells more than two of the
// adapter's components what to do; docs/development/architecture.md draws
// the protocols.

// forget lets go of what the adapter holds of the streams that match, for
// the reason: a deleted incarnation's replays first, then the stream
// table's part (streams.Table.Forget says what each reason drops), then the
// delivered progress of the incarnations it returns (with their journal
// entries, but for DeletedElsewhere, whose entry the bucket's leader
// removes), then the replays of a namespace or bucket.
func (a *Adapter) forget(ctx context.Context, m streams.Match, why streams.Reason) []types.UID {
	if why == streams.DeletedHere || why == streams.DeletedElsewhere {
		// Nothing of it is left to replay: first, so that no replay of it
		// starts and holds an attempt after the stream lets go of it.
		a.replays.Finish(m.UID, nil)
	}
	uids := a.streams.Forget(ctx, m, why)
	for _, uid := range uids {
		if why == streams.DeletedElsewhere {
			a.progress.Drop(uid)
		} else {
			a.progress.Forget(uid)
		}
	}
	switch why {
	case streams.NamespaceLeft:
		a.replays.Forget(m.Key)
	case streams.BucketLetGo:
		// Its parts of unfinished replays stop; the next leader does them.
		a.replays.Kick()
	}
	return uids
}

// deleted takes in a TaskRun's deletion: the replica that leads its bucket
// keeps it until its last transitions are delivered (sync forgets it
// then), and queues it; another lets it go. Kept also while a promoted
// bucket's journal is still being read: the promotion queues it then.
func (a *Adapter) deleted(tr *pipelinev1.TaskRun) {
	key := types.NamespacedName{Namespace: tr.Namespace, Name: tr.Name}
	if !a.owner.Leads(key) {
		a.forget(context.Background(), streams.Incarnation(key, tr.UID), streams.DeletedElsewhere)
		return
	}
	// Kept before the handlers' record of it goes, so a delivery that no
	// longer waits for them finds it.
	a.streams.Keep(tr)
	a.forget(context.Background(), streams.Incarnation(key, tr.UID), streams.DeletedHere)
	a.queue.Add(key)
}

// handOverWait bounds the wait for the deliveries under way when their
// TaskRuns move away: a delivery reads the Secrets to mask and the log,
// then tries the sink and, if that fails for good, the dead-letter sink.
func (a *Adapter) handOverWait() time.Duration {
	return 2 * (a.opts.SendTimeout + a.sender.AttemptTimeout())
}

// promote takes over a bucket this replica now leads: read its journal
// entries (how far the previous leader got), mark it ready, and queue its
// TaskRuns, those deleted meanwhile too, and its replay parts.
func (a *Adapter) promote(b reconciler.Bucket, enq func(reconciler.Bucket, types.NamespacedName)) error {
	// The bucket is led from now on (LeaderAwareFuncs marked it
	// before calling this), but its TaskRuns are handled only once
	// the journal has told how far the previous leader got; what
	// the informers queue meanwhile is queued again below. A
	// demotion while the journal is read (client-go runs the two
	// in different goroutines) wins.
	generation, _ := a.owner.Unready(b)
	readCtx, cancel := context.WithTimeout(context.Background(), a.opts.SendTimeout)
	err := a.progress.Load(readCtx, b.Has)
	cancel()
	if err != nil {
		// The annotations still hold every finished attempt; the
		// bucket's running TaskRuns may repeat events.
		a.logger.Warnw("Could not read the progress journal; running TaskRuns of the bucket may send events again",
			zap.String("bucket", b.Name()), zap.Error(err))
	}
	a.owner.MarkReady(b, generation)
	n := 0
	a.watches.Each(func(tr *pipelinev1.TaskRun) {
		if b.Has(types.NamespacedName{Namespace: tr.Namespace, Name: tr.Name}) {
			// As the watch queues it: for delivery, and for the
			// deletion guard (a TaskRun being deleted may never
			// change again).
			a.enqueue(tr)
			n++
		}
	})
	// Deleted while the journal was read.
	for _, key := range a.streams.DeletedKeys(b.Has) {
		enq(b, key)
	}
	a.logger.Infow("Leading a bucket of TaskRuns", zap.String("bucket", b.Name()), zap.Int("taskruns", n))
	// The bucket's parts of unfinished replays are this replica's now.
	a.replays.Kick()
	return nil
}

// demote hands a bucket over to the replica that leads it next: stop
// owning it and wait for its sends under way, write its progress (letGo),
// then forget its streams. The next leader never saw its deleted
// TaskRuns' deletion as its own: their remaining events are lost, and
// their journal entries obsolete.
func (a *Adapter) demote(b reconciler.Bucket) {
	a.logger.Infow("No longer leading a bucket of TaskRuns", zap.String("bucket", b.Name()))
	// One bound for both waits for the sends under way.
	ctx, cancel := context.WithTimeout(context.Background(), a.handOverWait())
	defer cancel()
	a.handOver(ctx, b)
	if gone := a.forget(ctx, streams.Names(b.Has), streams.BucketLetGo); len(gone) > 0 {
		a.logger.Warnw("Deleted TaskRuns with undelivered events left with the bucket; those events are lost",
			zap.String("bucket", b.Name()), zap.Int("taskruns", len(gone)))
	}
}

// letGo stops the bucket's deliveries, waits for those under way (bounded)
// and writes the progress of its TaskRuns, before the bucket is released
// or once it was lost.
func (a *Adapter) letGo(b reconciler.Bucket) {
	ctx, cancel := context.WithTimeout(context.Background(), a.handOverWait())
	defer cancel()
	a.handOver(ctx, b)
}

// handOver is letGo, its wait for the sends under way within ctx.
func (a *Adapter) handOver(ctx context.Context, b reconciler.Bucket) {
	if _, led := a.owner.Unready(b); !led {
		// Not led in this term (still being acquired, its journal not yet
		// read, or let go already): nothing was sent for it since the
		// last flush, and what the ledger holds of it may be older than
		// what its leader recorded since.
		return
	}
	if !a.streams.Wait(ctx, b.Has) {
		a.logger.Warnw("Deliveries of the bucket still under way; the next leader may send their events again",
			zap.String("bucket", b.Name()))
	}
	a.progress.Flush(context.Background(), b.Has)
}

// namespaceLeft lets go of a namespace no longer watched (its watch is
// stopped): nothing of its TaskRuns is sent any more. Their attempts go,
// replays stop waiting for them, and its deleted TaskRuns kept for their
// last events go with their journal entries (nothing can send them
// again), after the sends under way (bounded), which would put back what
// is dropped. The live TaskRuns' journal entries stay: the namespace may
// come back.
func (a *Adapter) namespaceLeft(ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), a.handOverWait())
	defer cancel()
	a.forget(ctx, streams.Names(func(key types.NamespacedName) bool { return key.Namespace == ns }), streams.NamespaceLeft)
}
