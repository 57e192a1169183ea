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

// Package adapter is the receive adapter: it watches TaskRuns and sends one
// CloudEvent per step transition to the sink, in order per TaskRun, with
// at-least-once delivery and a durable per-source checkpoint so that in
// steady state nothing is sent twice. It runs on knative.dev/eventing's
// adapter/v2 framework, whose CloudEvents client handles the sink's TLS,
// OIDC audience, K_CE_OVERRIDES and delivery metrics.
package adapter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	tektoninformers "github.com/tektoncd/pipeline/pkg/client/informers/externalversions"
	tektonlisters "github.com/tektoncd/pipeline/pkg/client/listers/pipeline/v1"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"knative.dev/eventing/pkg/eventfilter"
	"knative.dev/eventing/pkg/eventfilter/subscriptionsapi"
	"knative.dev/pkg/leaderelection"
	"knative.dev/pkg/logging"
	"knative.dev/pkg/reconciler"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/events"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/sourceconfig"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/steplog"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
)

// Options configure an Adapter.
type Options struct {
	Config *sourceconfig.Config
	// CloudEvents is the client that delivers to the sink.
	CloudEvents cloudevents.Client
	Tekton      tektonclient.Interface
	Kube        kubernetes.Interface
	// Metadata patches the checkpoint annotations.
	Metadata metadata.Interface
	Logger   *zap.SugaredLogger
	// MaxInFlight caps concurrent deliveries: one per TaskRun being worked on.
	MaxInFlight int
	// RetryBaseDelay and RetryMaxDelay bound the per-TaskRun exponential
	// backoff after a failed delivery.
	RetryBaseDelay, RetryMaxDelay time.Duration
	// SendTimeout bounds one delivery attempt.
	SendTimeout time.Duration
	// MeterProvider receives the adapter's metrics; nil means OpenTelemetry's
	// global provider, which adapter/v2 configures.
	MeterProvider metric.MeterProvider
	// CheckpointInterval is how often, at most, the journal of running
	// TaskRuns' progress is written; a finished attempt is written to its
	// annotation at once, and all progress is written on shutdown. A crash
	// can repeat the events delivered within one interval (with the same
	// ids). 0 writes after every event.
	CheckpointInterval time.Duration
	// JournalMaxBytes bounds the journal ConfigMap's content (0: 256 KiB;
	// the apiserver takes objects up to about 1 MiB, and the journal grows
	// by up to one interval's new TaskRuns between two looks at its size).
	// Beyond it, running TaskRuns are checkpointed in their annotation.
	JournalMaxBytes int
	// LeaderElection, when set, makes this adapter one of several replicas
	// of a source: the TaskRuns are split into LeaderElection.Buckets
	// buckets, each led by one replica at a time through a Lease (in the
	// SYSTEM_NAMESPACE namespace, knative.dev/pkg's leader election), and
	// the adapter only handles the TaskRuns of the buckets it leads.
	LeaderElection *leaderelection.ComponentConfig
	// BucketQueue names this source's Leases
	// (<component>.<queue>.<i>-of-<buckets>); replicas of one source share
	// it, different sources must not.
	BucketQueue string
}

// Adapter watches TaskRuns and delivers their step transitions.
type Adapter struct {
	opts   Options
	cfg    *sourceconfig.Config
	logger *zap.SugaredLogger
	store  *checkpoint.Store
	logs   *steplog.Reader
	filter eventfilter.Filter
	stats  *metrics
	// queue holds the TaskRuns with transitions to deliver; saves the
	// TaskRuns whose delivered progress is to be written. Writing off the
	// delivery path keeps a TaskRun's next events from waiting for an
	// apiserver round trip.
	queue workqueue.TypedRateLimitingInterface[types.NamespacedName]
	saves workqueue.TypedRateLimitingInterface[types.UID]

	informers []cache.SharedIndexInformer
	listers   func(namespace string) tektonlisters.TaskRunNamespaceLister

	// leader tracks the buckets this replica leads; nil without leader
	// election, when the adapter handles every TaskRun.
	leader  *reconciler.LeaderAwareFuncs
	elector leaderelection.Elector

	// journal keeps the progress of running TaskRuns (see checkpoint.Journal).
	journal *checkpoint.Journal
	// journalKick wakes the journal writer; journalWriting serialises the
	// journal writes of the writer, demotions and the shutdown.
	journalKick    chan struct{}
	journalWriting sync.Mutex

	mu sync.Mutex
	// runs is what this process knows of each TaskRun's delivery progress,
	// ahead of the checkpoint annotation and the journal.
	runs map[types.UID]*runState
	// journalPending holds the TaskRuns whose journal entry is to be
	// written or removed; journalSizes the size of each entry the journal
	// holds, and journalBytes their sum.
	journalPending map[types.UID]struct{}
	journalSizes   map[types.UID]int
	journalBytes   int
}

// runState is the delivery progress of one TaskRun in this process.
type runState struct {
	key types.NamespacedName
	// delivered is what the sink acknowledged.
	delivered *checkpoint.Progress
	// saved is what this process last wrote to the checkpoint annotation,
	// and when.
	saved   *checkpoint.Progress
	savedAt time.Time
	// journaled is the TaskRun's journal entry as last written or read;
	// nil when the journal has none.
	journaled *checkpoint.Progress
	// finished: delivered covers a finished attempt, which belongs in the
	// annotation.
	finished bool
	// writing serialises the TaskRun's annotation writes, so an older
	// progress never lands after a newer one.
	writing sync.Mutex
}

// recorded reports whether the delivered progress is durable where it
// belongs: a finished attempt in the annotation, a running one in the
// annotation or the journal.
func (st *runState) recorded() bool {
	if st.saved.Covers(st.delivered) {
		return true
	}
	return !st.finished && st.journaled != nil && st.journaled.Covers(st.delivered)
}

// checkpointWriters is how many annotation writes run at once.
const checkpointWriters = 4

// New builds an Adapter and its informers; Start runs it.
func New(opts Options) (*Adapter, error) {
	if opts.Config == nil || opts.CloudEvents == nil || opts.Tekton == nil || opts.Kube == nil || opts.Metadata == nil || opts.Logger == nil {
		return nil, errors.New("adapter: Config, CloudEvents, Tekton, Kube, Metadata and Logger are required")
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 16
	}
	if opts.RetryBaseDelay <= 0 {
		opts.RetryBaseDelay = 200 * time.Millisecond
	}
	if opts.RetryMaxDelay <= 0 {
		opts.RetryMaxDelay = 10 * time.Second
	}
	if opts.SendTimeout <= 0 {
		opts.SendTimeout = 30 * time.Second
	}
	if opts.JournalMaxBytes <= 0 {
		opts.JournalMaxBytes = 256 << 10
	}
	a := &Adapter{
		opts:           opts,
		cfg:            opts.Config,
		logger:         opts.Logger,
		store:          &checkpoint.Store{Client: opts.Metadata, SourceUID: opts.Config.SourceUID},
		logs:           &steplog.Reader{Client: opts.Kube},
		runs:           map[types.UID]*runState{},
		journal:        checkpoint.SourceJournal(opts.Kube, opts.Config.SourceNamespace, opts.Config.SourceName, opts.Config.SourceUID),
		journalKick:    make(chan struct{}, 1),
		journalPending: map[types.UID]struct{}{},
		journalSizes:   map[types.UID]int{},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[types.NamespacedName](opts.RetryBaseDelay, opts.RetryMaxDelay),
			workqueue.TypedRateLimitingQueueConfig[types.NamespacedName]{Name: "taskruns"}),
		saves: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[types.UID](opts.RetryBaseDelay, opts.RetryMaxDelay),
			workqueue.TypedRateLimitingQueueConfig[types.UID]{Name: "checkpoints"}),
	}
	stats, err := newMetrics(opts.MeterProvider, opts.Config.SourceNamespace, opts.Config.SourceName, func() int { return a.queue.Len() })
	if err != nil {
		return nil, fmt.Errorf("adapter metrics: %w", err)
	}
	a.stats = stats
	if len(opts.Config.Filters) > 0 {
		a.filter = subscriptionsapi.CreateSubscriptionsAPIFilters(opts.Logger.Desugar(), opts.Config.Filters)
	}
	selector, err := opts.Config.Selector()
	if err != nil {
		return nil, fmt.Errorf("adapter: TaskRun selector: %w", err)
	}
	a.setupInformers(selector.String())
	if opts.LeaderElection != nil {
		if err := a.setupLeaderElection(); err != nil {
			return nil, fmt.Errorf("adapter: leader election: %w", err)
		}
	}
	return a, nil
}

// setupLeaderElection builds the elector of the source's buckets, as
// Knative's leader-aware reconcilers do. Promotion to a bucket's leader
// reads the bucket's journal entries and queues its TaskRuns (the journal
// and the annotations carry the progress over from the previous leader);
// demotion writes the bucket's pending checkpoints, so the next leader does
// not send those events again.
func (a *Adapter) setupLeaderElection() error {
	a.leader = &reconciler.LeaderAwareFuncs{
		PromoteFunc: func(b reconciler.Bucket, enq func(reconciler.Bucket, types.NamespacedName)) error {
			if err := a.loadJournal(context.Background(), b.Has); err != nil {
				// The annotations still hold every finished attempt; the
				// bucket's running TaskRuns may repeat events.
				a.logger.Warnw("Could not read the progress journal; running TaskRuns of the bucket may send events again",
					zap.String("bucket", b.Name()), zap.Error(err))
			}
			n := 0
			for _, inf := range a.informers {
				for _, obj := range inf.GetStore().List() {
					if tr, ok := obj.(*pipelinev1.TaskRun); ok {
						if key := (types.NamespacedName{Namespace: tr.Namespace, Name: tr.Name}); b.Has(key) {
							enq(b, key)
							n++
						}
					}
				}
			}
			a.logger.Infow("Leading a bucket of TaskRuns", zap.String("bucket", b.Name()), zap.Int("taskruns", n))
			return nil
		},
		DemoteFunc: func(b reconciler.Bucket) {
			a.logger.Infow("No longer leading a bucket of TaskRuns", zap.String("bucket", b.Name()))
			a.flush(context.Background(), b.Has)
		},
	}
	ctx := logging.WithLogger(context.Background(), a.logger)
	ctx = leaderelection.WithStandardLeaderElectorBuilder(ctx, a.opts.Kube, *a.opts.LeaderElection)
	elector, err := leaderelection.BuildElector(ctx, a.leader, a.opts.BucketQueue,
		func(_ reconciler.Bucket, key types.NamespacedName) { a.queue.Add(key) })
	a.elector = elector
	return err
}

// owns reports whether this replica handles the TaskRun.
func (a *Adapter) owns(key types.NamespacedName) bool {
	return a.leader == nil || a.leader.IsLeaderFor(key)
}

// setupInformers watches TaskRuns cluster-wide or in each configured
// namespace (so a namespaced service account suffices), with the label
// selector applied server-side and the cached objects trimmed.
func (a *Adapter) setupInformers(selector string) {
	namespaces := a.cfg.Namespaces
	if a.cfg.AllNamespaces {
		namespaces = []string{metav1.NamespaceAll}
	}
	byNamespace := map[string]tektonlisters.TaskRunLister{}
	for _, ns := range namespaces {
		factory := tektoninformers.NewSharedInformerFactoryWithOptions(a.opts.Tekton, 0,
			tektoninformers.WithNamespace(ns),
			tektoninformers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector }),
			tektoninformers.WithTransform(a.trim))
		inf := factory.Tekton().V1().TaskRuns()
		_, _ = inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    a.enqueue,
			UpdateFunc: func(_, obj interface{}) { a.enqueue(obj) },
			DeleteFunc: a.forget,
		})
		a.informers = append(a.informers, inf.Informer())
		byNamespace[ns] = inf.Lister()
	}
	a.listers = func(namespace string) tektonlisters.TaskRunNamespaceLister {
		if l, ok := byNamespace[metav1.NamespaceAll]; ok {
			return l.TaskRuns(namespace)
		}
		if l, ok := byNamespace[namespace]; ok {
			return l.TaskRuns(namespace)
		}
		return nil
	}
}

// trim keeps only what transitions and events need in the informer cache:
// no managedFields, no spec (status.taskSpec has the resolved steps), no
// results, sidecars or provenance, and only this source's annotation.
func (a *Adapter) trim(obj interface{}) (interface{}, error) {
	tr, ok := obj.(*pipelinev1.TaskRun)
	if !ok {
		return obj, nil
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

// settled reports whether the TaskRun is complete and its checkpoint already
// covers every transition it has (none, when it finished before the source
// was created). Most of a long-lived cache is such TaskRuns, and their steps
// and task specs are most of its memory.
func (a *Adapter) settled(tr *pipelinev1.TaskRun) bool {
	if tr.Status.CompletionTime == nil {
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

func trimStatus(st *pipelinev1.TaskRunStatus) {
	st.Conditions = nil
	st.Annotations = nil
	st.Results = nil
	st.Sidecars = nil
	st.Provenance = nil
	st.Artifacts = nil
	st.SpanContext = nil
	for i := range st.Steps {
		st.Steps[i].Results = nil
		st.Steps[i].Provenance = nil
		st.Steps[i].Inputs = nil
		st.Steps[i].Outputs = nil
	}
}

func (a *Adapter) enqueue(obj interface{}) {
	if tr, ok := obj.(*pipelinev1.TaskRun); ok {
		if key := (types.NamespacedName{Namespace: tr.Namespace, Name: tr.Name}); a.owns(key) {
			a.queue.Add(key)
		}
	}
}

// forget drops the state of a deleted TaskRun.
func (a *Adapter) forget(obj interface{}) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	tr, ok := obj.(*pipelinev1.TaskRun)
	if !ok {
		return
	}
	a.mu.Lock()
	delete(a.runs, tr.UID)
	_, journaled := a.journalSizes[tr.UID]
	if journaled {
		a.journalPending[tr.UID] = struct{}{}
	}
	a.mu.Unlock()
	if journaled {
		a.kickJournal()
	}
}

// Start reads the journal, runs the informers, MaxInFlight delivery workers
// and the checkpoint writers until ctx is done, then writes every
// checkpoint still pending.
func (a *Adapter) Start(ctx context.Context) error {
	defer a.queue.ShutDown()
	defer a.saves.ShutDown()
	// Before any delivery, so that none repeats what the journal records.
	// With replicas, each promotion reads its bucket's entries again.
	if err := a.loadJournalRetrying(ctx); err != nil {
		return err
	}
	for _, inf := range a.informers {
		go inf.Run(ctx.Done())
	}
	syncs := make([]cache.InformerSynced, 0, len(a.informers))
	for _, inf := range a.informers {
		syncs = append(syncs, inf.HasSynced)
	}
	if !cache.WaitForCacheSync(ctx.Done(), syncs...) {
		return fmt.Errorf("TaskRun informers did not sync: %w", context.Cause(ctx))
	}
	a.logger.Infow("Watching TaskRuns", zap.Bool("allNamespaces", a.cfg.AllNamespaces),
		zap.Strings("namespaces", a.cfg.Namespaces), zap.String("selector", a.cfg.LabelSelector),
		zap.String("excludeEventListener", a.cfg.ExcludeEventListener))
	a.pruneJournal()

	// The elector outlives ctx until the checkpoints are flushed: a Lease
	// released earlier would let the next leader start from stale
	// checkpoints and send again what this replica delivered.
	electorCtx, stopElector := context.WithCancel(context.WithoutCancel(ctx))
	electorDone := make(chan struct{})
	if a.elector != nil {
		go func() {
			defer close(electorDone)
			a.elector.Run(electorCtx)
		}()
	} else {
		close(electorDone)
	}

	var deliveries, writers sync.WaitGroup
	for i := 0; i < a.opts.MaxInFlight; i++ {
		deliveries.Go(func() {
			for processNext(ctx, a.queue, a.logger, "Delivery incomplete", a.sync) {
			}
		})
	}
	for i := 0; i < checkpointWriters; i++ {
		writers.Go(func() {
			for processNext(ctx, a.saves, a.logger, "Checkpoint not written", a.saveOwned) {
			}
		})
	}
	writers.Go(func() { a.runJournal(ctx) })
	<-ctx.Done()
	a.queue.ShutDown()
	deliveries.Wait()
	// The writers finish what is queued; writes still waiting for their
	// interval, or to be retried, and the journal are left to the flush.
	a.saves.ShutDown()
	writers.Wait()
	a.flush(ctx, func(types.NamespacedName) bool { return true })
	stopElector()
	<-electorDone
	if a.filter != nil {
		a.filter.Cleanup()
	}
	return nil
}

// processNext runs do on the next key of q, and retries the key with q's
// backoff when do fails. It reports false once q is shut down.
func processNext[K comparable](ctx context.Context, q workqueue.TypedRateLimitingInterface[K], logger *zap.SugaredLogger,
	failure string, do func(context.Context, K) error) bool {
	key, quit := q.Get()
	if quit {
		return false
	}
	defer q.Done(key)
	if err := do(ctx, key); err != nil {
		if ctx.Err() == nil {
			logger.Warnw(failure+", will retry", zap.String("taskrun", fmt.Sprint(key)), zap.Int("retries", q.NumRequeues(key)), zap.Error(err))
		}
		q.AddRateLimited(key)
		return true
	}
	q.Forget(key)
	return true
}

// sync delivers the TaskRun's pending transitions in order and records the
// progress. It stops at the first failed delivery, so order is kept and the
// rest waits for the retry.
func (a *Adapter) sync(ctx context.Context, key types.NamespacedName) error {
	lister := a.listers(key.Namespace)
	if lister == nil {
		return nil
	}
	if !a.owns(key) {
		// Another replica leads the TaskRun's bucket.
		return nil
	}
	tr, err := lister.Get(key.Name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	progress := a.progress(tr)
	var sendErr error
	for _, t := range transitions.ForTaskRun(tr, a.cfg.NotBefore.Time) {
		if progress.Done(t) {
			continue
		}
		if !a.owns(key) {
			// Demoted meanwhile: the next leader takes over from the
			// checkpoint the demotion wrote.
			break
		}
		if sendErr = a.deliver(ctx, tr, t); sendErr != nil {
			break
		}
		progress.Record(t)
		a.remember(tr, progress)
	}
	a.checkpoint(tr, sendErr == nil)
	return sendErr
}

// progress is the further of the durable checkpoint and this process's memory.
func (a *Adapter) progress(tr *pipelinev1.TaskRun) *checkpoint.Progress {
	p, err := checkpoint.FromTaskRun(tr, a.cfg.SourceUID)
	if err != nil {
		a.logger.Warnw("Ignoring unreadable checkpoint", zap.Error(err))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if st := a.runs[tr.UID]; st != nil && st.delivered.Covers(p) {
		return st.delivered.Clone()
	}
	return p
}

func (a *Adapter) remember(tr *pipelinev1.TaskRun, p *checkpoint.Progress) {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.runs[tr.UID]
	if st == nil {
		// The interval starts with the first delivery, so a running
		// TaskRun's first event does not cost a write of its own.
		st = &runState{key: types.NamespacedName{Namespace: tr.Namespace, Name: tr.Name}, saved: &checkpoint.Progress{}, savedAt: time.Now()}
		a.runs[tr.UID] = st
	}
	st.delivered = p.Clone()
}

// checkpoint schedules the write of the TaskRun's delivered progress when it
// is ahead of what is recorded. A finished and fully delivered attempt goes
// to the TaskRun's annotation at once. A running TaskRun's progress goes to
// the journal, which the journal writer writes at most once per checkpoint
// interval for all TaskRuns together; if the journal is full, to the
// annotation, coalesced to one write per TaskRun and interval. Either way a
// running TaskRun's events cost no TaskRun write, nor the watch event such
// a write echoes to every TaskRun watcher, each.
func (a *Adapter) checkpoint(tr *pipelinev1.TaskRun, allDelivered bool) {
	finished := allDelivered && tr.Status.CompletionTime != nil
	a.mu.Lock()
	st := a.runs[tr.UID]
	if st == nil {
		a.mu.Unlock()
		return
	}
	st.finished = finished
	if st.recorded() {
		a.mu.Unlock()
		return
	}
	progress, wait := st.delivered.Clone(), a.opts.CheckpointInterval-time.Since(st.savedAt)
	journal := !finished && (st.journaled != nil || a.journalBytes < a.opts.JournalMaxBytes)
	if journal {
		a.journalPending[tr.UID] = struct{}{}
	}
	a.mu.Unlock()
	if journal {
		a.kickJournal()
		return
	}
	if durable, err := checkpoint.FromTaskRun(tr, a.cfg.SourceUID); err == nil && durable.Covers(progress) {
		return
	}
	if finished || wait <= 0 {
		a.saves.Add(tr.UID)
		return
	}
	a.saves.AddAfter(tr.UID, wait)
}

// saveOwned writes the TaskRun's checkpoint if this replica still handles
// it. A TaskRun whose bucket moved to another replica was written by the
// demotion's flush; writing it now could overwrite the new leader's further
// progress.
func (a *Adapter) saveOwned(ctx context.Context, uid types.UID) error {
	a.mu.Lock()
	st := a.runs[uid]
	a.mu.Unlock()
	if st == nil || !a.owns(st.key) {
		return nil
	}
	return a.save(ctx, uid)
}

// save writes the TaskRun's delivered progress unless what this process
// wrote already covers it. A shutdown must not cancel the record of events
// the sink already acknowledged, so the write outlives ctx's cancellation.
func (a *Adapter) save(ctx context.Context, uid types.UID) error {
	a.mu.Lock()
	st := a.runs[uid]
	a.mu.Unlock()
	if st == nil {
		// Deleted meanwhile.
		return nil
	}
	st.writing.Lock()
	defer st.writing.Unlock()
	a.mu.Lock()
	progress, key, current := st.delivered.Clone(), st.key, st.saved.Covers(st.delivered)
	a.mu.Unlock()
	if current {
		return nil
	}
	saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.opts.SendTimeout)
	defer cancel()
	err := a.store.Save(saveCtx, key.Namespace, key.Name, uid, progress)
	// A TaskRun deleted or replaced meanwhile has nothing left to record.
	if apierrors.IsNotFound(err) || apierrors.IsInvalid(err) || apierrors.IsConflict(err) {
		return nil
	}
	a.stats.checkpointWrote(saveCtx, storeAnnotation, err)
	if err != nil {
		return fmt.Errorf("saving the checkpoint of TaskRun %s: %w", key, err)
	}
	a.mu.Lock()
	st.saved, st.savedAt = progress, time.Now()
	// The annotation has it now: the journal entry can go.
	drop := st.journaled != nil && progress.Covers(st.journaled)
	if drop {
		a.journalPending[uid] = struct{}{}
	}
	a.mu.Unlock()
	if drop {
		a.kickJournal()
	}
	return nil
}

// flush writes the progress not yet recorded of the TaskRuns that match, on
// shutdown or when a bucket moves to another replica: finished attempts
// (and running TaskRuns that do not fit the journal) to their annotation,
// the others to the journal in one write.
func (a *Adapter) flush(ctx context.Context, match func(types.NamespacedName) bool) {
	a.mu.Lock()
	annotate := map[types.UID]types.NamespacedName{}
	for uid, st := range a.runs {
		if !match(st.key) || st.recorded() {
			continue
		}
		if st.finished || (st.journaled == nil && a.journalBytes >= a.opts.JournalMaxBytes) {
			annotate[uid] = st.key
		} else {
			a.journalPending[uid] = struct{}{}
		}
	}
	a.mu.Unlock()
	for uid, key := range annotate {
		if err := a.save(ctx, uid); err != nil {
			a.logger.Warnw("Could not write the checkpoint on shutdown; its events may be sent again",
				zap.String("taskrun", key.String()), zap.Error(err))
		}
	}
	if err := a.writeJournal(ctx, match); err != nil {
		a.logger.Warnw("Could not write the progress journal on shutdown; running TaskRuns may send events again", zap.Error(err))
	}
}

// deliver builds the transition's event and sends it unless the filters drop
// it. A nil error means the transition is done: acknowledged, filtered out,
// or permanently rejected by the sink (a 4xx other than 408 and 429, which
// retrying cannot fix; it is logged and counted instead).
func (a *Adapter) deliver(ctx context.Context, tr *pipelinev1.TaskRun, t transitions.Transition) error {
	var log *events.Log
	if (t.Kind == transitions.Succeeded || t.Kind == transitions.Failed) && a.cfg.LogMaxBytes > 0 && t.PodName != "" {
		log = a.logs.Tail(ctx, tr.Namespace, t.PodName, t.StepState.Container, a.cfg.LogMaxBytes)
	}
	event, err := events.New(tr, t, log)
	if err != nil {
		return err
	}
	logger := a.logger.With(zap.String("id", event.ID()), zap.String("type", event.Type()),
		zap.String("taskrun", tr.Namespace+"/"+tr.Name))
	if a.filter != nil && a.filter.Filter(ctx, event) == eventfilter.FailFilter {
		logger.Debug("Event dropped by the source's filters")
		a.stats.filtered.Add(ctx, 1, a.stats.attrs)
		return nil
	}
	sendCtx, cancel := context.WithTimeout(ctx, a.opts.SendTimeout)
	defer cancel()
	start := time.Now()
	result := a.opts.CloudEvents.Send(sendCtx, event)
	if cloudevents.IsACK(result) {
		logger.Debug("Event delivered")
		a.stats.sent(ctx, event.Type(), time.Since(start), a.stats.delivered)
		return nil
	}
	var httpResult *cehttp.Result
	if cloudevents.ResultAs(result, &httpResult) && permanentRejection(httpResult.StatusCode) {
		logger.Errorw("Sink rejected the event permanently; not retrying", zap.Int("status", httpResult.StatusCode))
		a.stats.sent(ctx, event.Type(), time.Since(start), a.stats.rejected)
		return nil
	}
	a.stats.sent(ctx, event.Type(), time.Since(start), a.stats.failed)
	return fmt.Errorf("sending %s: %w", event.ID(), result)
}

func permanentRejection(status int) bool {
	return status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests
}
