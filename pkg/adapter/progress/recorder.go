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

package progress

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/util/workqueue"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
)

// Recorder writes and reads the checkpoints the ledger decides on: the
// TaskRuns' annotations, through the saves queue, and the source's
// journal, through one writer goroutine. It owns the ledger, the journal's
// writer lock and what it logged of the records it ignored.
type Recorder struct {
	opts    Options
	ledger  *ledger
	store   *checkpoint.Store
	journal *checkpoint.Journal
	// kick wakes the journal writer; writing serialises the journal writes
	// of the writer, the hand-overs and the shutdown.
	kick    chan struct{}
	writing sync.Mutex
	// saves holds the TaskRuns whose delivered progress is to be written
	// to their annotation: off the delivery path, so a TaskRun's next
	// events do not wait for an apiserver round trip.
	saves workqueue.TypedRateLimitingInterface[types.UID]
	// ignored remembers which TaskRuns' ignored records were logged.
	ignored ignoredRecords
	// legacyBefore: checkpoint annotations that name no TaskRun are
	// trusted on TaskRuns created before it (set once, by LoadAll).
	legacyBefore time.Time
}

// Options configure a Recorder.
type Options struct {
	// Kube writes the journal ConfigMap (in SourceNamespace); Metadata
	// the annotations.
	Kube            kubernetes.Interface
	Metadata        metadata.Interface
	SourceUID       string
	SourceNamespace string
	// Interval is how often, at most, the journal is written, and a
	// running TaskRun's annotation (see ledger); JournalMax bounds the
	// journal's content, shared by Writers replicas.
	Interval   time.Duration
	JournalMax int
	Writers    int
	// Timeout bounds one read or write; RetryBase and RetryMax the
	// backoff of the journal's.
	Timeout, RetryBase, RetryMax time.Duration
	// Owns says which TaskRuns this replica handles; Cached is the
	// TaskRun of the name as the watch last saw it (nil when none), and
	// Synced whether the watch of a namespace listed its TaskRuns.
	Owns   func(types.NamespacedName) bool
	Cached func(types.NamespacedName) *pipelinev1.TaskRun
	Synced func(namespace string) bool
	// Wrote counts one write to a store ("journal", "annotation") with its
	// outcome ("written", "failed", "refused").
	Wrote  func(ctx context.Context, store, outcome string)
	Logger *zap.SugaredLogger
}

// The stores and outcomes Options.Wrote counts.
const (
	StoreJournal    = "journal"
	StoreAnnotation = "annotation"
	OutcomeWritten  = "written"
	OutcomeFailed   = "failed"
	OutcomeRefused  = "refused"
)

// New is the Recorder of a source.
func New(opts Options) *Recorder {
	return &Recorder{
		opts:    opts,
		ledger:  newLedger(opts.Interval, opts.JournalMax, opts.Writers),
		store:   &checkpoint.Store{Client: opts.Metadata, SourceUID: opts.SourceUID},
		journal: checkpoint.SourceJournal(opts.Kube, opts.SourceNamespace, opts.SourceUID),
		kick:    make(chan struct{}, 1),
		saves: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[types.UID](opts.RetryBase, opts.RetryMax),
			workqueue.TypedRateLimitingQueueConfig[types.UID]{Name: "checkpoints"}),
		ignored: newIgnoredRecords(),
	}
}

// Saves is the queue of the annotation writes: its workers call SaveOwned.
func (r *Recorder) Saves() workqueue.TypedRateLimitingInterface[types.UID] { return r.saves }

// Delivered records that the sink acknowledged the TaskRun's transitions
// up to p.
func (r *Recorder) Delivered(uid types.UID, key types.NamespacedName, p *checkpoint.Progress) {
	r.ledger.delivered(uid, key, p, time.Now())
}

// Forget drops what the recorder knows of a TaskRun whose events nothing
// will send any more, with its journal entry.
func (r *Recorder) Forget(uid types.UID) {
	if r.ledger.forget(uid) {
		r.kickJournal()
	}
}

// Drop forgets a TaskRun another replica handles, leaving its journal
// entry to that replica.
func (r *Recorder) Drop(uid types.UID) { r.ledger.drop(uid) }

// Resume is where the TaskRun's delivery resumes: the further of its
// checkpoint annotation and this process's memory. A record it cannot
// trust (an annotation for another TaskRun, a journal entry of more than
// the status shows) is ignored, and logged once per TaskRun.
func (r *Recorder) Resume(tr *pipelinev1.TaskRun) *checkpoint.Progress {
	p, err := r.Checkpoint(tr)
	if err != nil && r.ignored.first(tr.UID, ignoredAnnotation) {
		r.opts.Logger.Warnw("Ignoring the TaskRun's checkpoint", zap.String("taskRun", tr.Namespace+"/"+tr.Name), zap.Error(err))
	}
	resumed, witnessed := r.ledger.progress(tr.UID, p)
	if witnessed {
		// Delivered by this process, so true even where the status now
		// shows less: Tekton re-creates a pod that vanished before it saw
		// it fail, and its steps run again under the same ids.
		return resumed
	}
	if why := resumed.Beyond(tr); why != "" {
		// From the journal, which anyone who may patch its ConfigMap can
		// write: a record of more than happened would silence the run.
		if r.ignored.first(tr.UID, ignoredJournalEntry) {
			r.opts.Logger.Warnw("Ignoring the TaskRun's progress journal entry", zap.String("taskRun", tr.Namespace+"/"+tr.Name),
				zap.String("configMap", r.journal.Name()), zap.String("reason", why))
		}
		return p
	}
	return resumed
}

// Record carries out the ledger's decision on the TaskRun after a delivery
// round. Either way a running TaskRun's events cost no TaskRun write, nor
// the watch event such a write echoes to every TaskRun watcher, each.
func (r *Recorder) Record(tr *pipelinev1.TaskRun, allDelivered bool) {
	finished := allDelivered && transitions.Final(tr)
	annotated, err := r.Checkpoint(tr)
	if err != nil {
		annotated = nil
	}
	switch p := r.ledger.schedule(tr.UID, finished, annotated, time.Now()); {
	case p.where == toJournal:
		r.kickJournal()
	case p.where == toAnnotation && p.after > 0:
		r.saves.AddAfter(tr.UID, p.after)
	case p.where == toAnnotation:
		r.saves.Add(tr.UID)
	}
}

// SaveOwned writes the TaskRun's checkpoint if this replica still handles
// it. A TaskRun whose bucket moved to another replica was written by the
// demotion's flush; writing it now could overwrite the new leader's further
// progress.
func (r *Recorder) SaveOwned(ctx context.Context, uid types.UID) error {
	if key, ok := r.ledger.keyOf(uid); !ok || !r.opts.Owns(key) {
		return nil
	}
	return r.save(ctx, uid)
}

// save writes the TaskRun's delivered progress to its annotation unless
// what this process wrote already covers it. A shutdown must not cancel the
// record of events the sink already acknowledged, so the write outlives
// ctx's cancellation.
func (r *Recorder) save(ctx context.Context, uid types.UID) error {
	w, ok := r.ledger.beginAnnotation(uid)
	if !ok {
		return nil
	}
	// Every way out ends the write, a panic's too (recovered by the
	// worker): a write begun and never ended would block the TaskRun's
	// next save and the shutdown's flush for good.
	ended := false
	end := func(o writeOutcome) bool {
		ended = true
		return r.ledger.endAnnotation(w, o, time.Now())
	}
	defer func() {
		if !ended {
			r.ledger.endAnnotation(w, notWritten, time.Now())
		}
	}()
	if r.annotationCovers(w) {
		// Another replica, leading the bucket now, wrote as much or more:
		// writing would put older progress back.
		if end(written) {
			r.kickJournal()
		}
		return nil
	}
	saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.Timeout)
	defer cancel()
	err := r.store.Save(saveCtx, w.key.Namespace, w.key.Name, uid, w.progress)
	switch {
	case apierrors.IsNotFound(err) || apierrors.IsConflict(err) || replaced(err):
		// A TaskRun deleted or replaced meanwhile has nothing left to record.
		end(notWritten)
		return nil
	case apierrors.IsInvalid(err) || apierrors.IsRequestEntityTooLargeError(err):
		// Retrying cannot help: the TaskRun's annotations would be too
		// large with ours. Its progress stays in the journal instead.
		r.opts.Wrote(saveCtx, StoreAnnotation, OutcomeRefused)
		r.opts.Logger.Warnw("The TaskRun's checkpoint annotation was refused; its progress stays in the journal",
			zap.String("taskrun", w.key.String()), zap.Error(err))
		if end(refused) {
			r.kickJournal()
		}
		return nil
	case err != nil:
		r.opts.Wrote(saveCtx, StoreAnnotation, OutcomeFailed)
		end(notWritten)
		return fmt.Errorf("saving the checkpoint of TaskRun %s: %w", w.key, err)
	}
	r.opts.Wrote(saveCtx, StoreAnnotation, OutcomeWritten)
	if end(written) {
		r.kickJournal()
	}
	return nil
}

// annotationCovers reports whether the TaskRun, as the watch last saw it,
// carries a checkpoint that covers the write and that its status bears
// out (a forged one is written over).
func (r *Recorder) annotationCovers(w annotationWrite) bool {
	on, cached, err := r.cachedCheckpoint(w.key, w.uid)
	return cached && err == nil && on.Covers(w.progress)
}

// cachedCheckpoint is the checkpoint annotation of the TaskRun as the watch
// last saw it (empty without one); cached is false when the watch holds no
// TaskRun of that name and UID. err: the annotation is unreadable, or
// claims more than the status shows (checkpoint.FromTaskRun).
func (r *Recorder) cachedCheckpoint(key types.NamespacedName, uid types.UID) (p *checkpoint.Progress, cached bool, err error) {
	tr := r.opts.Cached(key)
	if tr == nil || tr.UID != uid {
		return nil, false, nil
	}
	p, err = r.Checkpoint(tr)
	return p, true, err
}

// replaced reports whether a checkpoint write failed because the TaskRun
// of that name is another one now: the patch's metadata.uid (the
// precondition Store.Save sets) does not match.
func replaced(err error) bool {
	var status apierrors.APIStatus
	if !apierrors.IsInvalid(err) || !errors.As(err, &status) || status.Status().Details == nil {
		return false
	}
	causes := status.Status().Details.Causes
	for _, c := range causes {
		if c.Field != "metadata.uid" {
			return false
		}
	}
	return len(causes) > 0
}

// Flush writes the progress not yet recorded of the TaskRuns that match, on
// shutdown or when a bucket moves to another replica: finished attempts to
// their annotation, running TaskRuns to the journal in one write, and those
// that do not fit the journal to their annotation.
func (r *Recorder) Flush(ctx context.Context, match func(types.NamespacedName) bool) {
	planned := r.ledger.flushPlan(match)
	for uid, key := range planned {
		if err := r.save(ctx, uid); err != nil {
			r.opts.Logger.Warnw("Could not write the checkpoint on shutdown; its events may be sent again",
				zap.String("taskrun", key.String()), zap.Error(err))
		}
	}
	// The journal's part planned again with its writer held: a periodic
	// write between the first plan and this one takes the entries of a
	// bucket being let go as another replica's (this one no longer owns
	// it) and drops them; it may also have filled the journal, and what no
	// longer fits goes to the annotations as well.
	var annotate []types.UID
	overflow, err := r.writeJournal(ctx, match, func() {
		for uid := range r.ledger.flushPlan(match) {
			if _, tried := planned[uid]; !tried {
				annotate = append(annotate, uid)
			}
		}
	})
	if err != nil {
		r.opts.Logger.Warnw("Could not write the progress journal on shutdown; running TaskRuns may send events again", zap.Error(err))
	}
	// What did not fit the journal goes to the annotations now: the saves
	// queue is shut down (shutdown) or skips what this replica no longer
	// leads (demotion).
	for _, uid := range append(annotate, overflow...) {
		if err := r.save(ctx, uid); err != nil {
			r.opts.Logger.Warnw("Could not write the checkpoint on shutdown; its events may be sent again", zap.String("uid", string(uid)), zap.Error(err))
		}
	}
}
