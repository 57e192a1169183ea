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
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"knative.dev/eventing/pkg/eventfilter"
	"knative.dev/eventing/pkg/eventfilter/subscriptionsapi"
	"knative.dev/pkg/leaderelection"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/compose"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/delivery"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/guard"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/ownership"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/progress"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/replay"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/streams"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/watches"
	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	sourcesclient "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned"
)

// Options configure an Adapter.
type Options struct {
	Config *adaptercontract.Config
	// CloudEvents is the client that delivers to the sink; DeadLetter, to
	// the dead-letter sink, required when Config.Delivery has one. Clients
	// built by NewClients record each answer's Retry-After and body.
	CloudEvents cloudevents.Client
	DeadLetter  cloudevents.Client
	Tekton      tektonclient.Interface
	Kube        kubernetes.Interface
	// Sources reads the source itself (its spec.replays) and writes its
	// status.replays.
	Sources sourcesclient.Interface
	// Metadata patches the checkpoint annotations.
	Metadata metadata.Interface
	Logger   *zap.SugaredLogger
	// MaxInFlight caps concurrent deliveries: one per TaskRun being worked
	// on (0: DefaultMaxInFlight).
	MaxInFlight int
	// RetryBaseDelay and RetryMaxDelay bound the per-TaskRun exponential
	// backoff after a failed delivery.
	RetryBaseDelay, RetryMaxDelay time.Duration
	// SendTimeout bounds one log read, one checkpoint or journal write, a
	// journal read and, unless Config.Delivery.Timeout sets its own, one
	// delivery attempt (0: adaptercontract.DefaultSinkTimeout).
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
	// JournalMaxBytes bounds the journal ConfigMap's content (0: 256 KiB).
	// Each write adds new entries only within its replica's share of the
	// room left, as the journal's size was at the last write (all
	// replicas' entries), so the new entries of all replicas together stay
	// near this, far from the apiserver's 1 MiB for a ConfigMap; running
	// TaskRuns that do not fit are checkpointed in their annotation.
	JournalMaxBytes int
	// LeaderElection, when set, makes this adapter one of several replicas
	// of a source: the TaskRuns are split into LeaderElection.Buckets
	// buckets, each led by one replica at a time through a Lease (in the
	// SYSTEM_NAMESPACE namespace, knative.dev/pkg's leader election), and
	// the adapter only handles the TaskRuns of the buckets it leads. The
	// Leases are named by adaptercontract.LeaseName, whatever LeaseName
	// says.
	LeaderElection *leaderelection.ComponentConfig
	// RejectionInterval is how often, at most, the source gets a Warning
	// Event for the events rejected meanwhile, with their count and last
	// ids (0: DefaultRejectionInterval).
	RejectionInterval time.Duration
	// Deployment is the adapter's Deployment, in the SYSTEM_NAMESPACE
	// namespace: with LeaderElection, its ready replicas share the buckets
	// (balance). Unknown, every replica counts on one bucket.
	Deployment string
}

// Adapter watches TaskRuns and delivers their step transitions.
type Adapter struct {
	opts   Options
	logger *zap.SugaredLogger
	filter eventfilter.Filter
	// composer reads what an event's data needs (Secrets to mask, logs).
	composer *compose.Composer
	stats    *metrics
	// queue holds the TaskRuns with transitions to deliver.
	queue workqueue.TypedRateLimitingInterface[types.NamespacedName]
	// guard applies the deletion guard (spec.deletionGuard).
	guard *guard.Guard

	// watches are the TaskRun informers and the namespaces they serve.
	watches *watches.Set

	// owner says which TaskRuns this replica handles; elector, with
	// leader election, leads the buckets.
	owner   *ownership.Buckets
	elector leaderelection.Elector

	// progress records how far each TaskRun's delivery got (the ledger,
	// the annotations and the source's journal); streams holds the rest
	// of what the adapter knows of each TaskRun name (the incarnations
	// seen and deleted, the attempts being retried, the sends under way).
	progress *progress.Recorder
	streams  *streams.Table
	// sender makes the events' attempts under spec.delivery's policy.
	sender *delivery.Sender
	// replays runs spec.replays; sourceInformer watches the source for it.
	replays        *replay.Runner
	sourceInformer cache.SharedIndexInformer
	// sourceEvents records Kubernetes Events on the source.
	sourceEvents *sourceEvents
}

// journalWriters is how many replicas of the source write its journal.
func journalWriters(le *leaderelection.ComponentConfig) int {
	if le == nil {
		return 1
	}
	return int(le.Buckets)
}

// checkpointWriters is how many annotation writes run at once;
// guardWriters how many deletion guard patches.
const (
	checkpointWriters = 4
	guardWriters      = 2
)

// DefaultMaxInFlight is Options.MaxInFlight's (and K_MAX_IN_FLIGHT's) default.
const DefaultMaxInFlight = 16

// New builds an Adapter and its informers; Start runs it.
func New(opts Options) (*Adapter, error) {
	if opts.Config == nil || opts.CloudEvents == nil || opts.Tekton == nil || opts.Kube == nil || opts.Metadata == nil || opts.Sources == nil || opts.Logger == nil {
		return nil, errors.New("adapter: Config, CloudEvents, Tekton, Kube, Metadata, Sources and Logger are required")
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = DefaultMaxInFlight
	}
	if opts.RetryBaseDelay <= 0 {
		opts.RetryBaseDelay = 200 * time.Millisecond
	}
	if opts.RetryMaxDelay <= 0 {
		opts.RetryMaxDelay = 10 * time.Second
	}
	policy, err := delivery.NewPolicy(opts.Config.Delivery)
	if err != nil {
		return nil, fmt.Errorf("adapter: delivery: %w", err)
	}
	if policy.DeadLetter() && opts.DeadLetter == nil {
		return nil, errors.New("adapter: a dead-letter sink is configured but DeadLetter is nil")
	}
	if opts.SendTimeout <= 0 {
		opts.SendTimeout = adaptercontract.DefaultSinkTimeout
	}
	requestTimeout := opts.SendTimeout
	if t := policy.RequestTimeout(); t > 0 {
		requestTimeout = t
	}
	if opts.JournalMaxBytes <= 0 {
		opts.JournalMaxBytes = 256 << 10
	}
	if opts.RejectionInterval <= 0 {
		opts.RejectionInterval = DefaultRejectionInterval
	}
	a := &Adapter{
		opts:         opts,
		sender:       delivery.NewSender(opts.CloudEvents, opts.DeadLetter, policy, requestTimeout, opts.RetryBaseDelay, opts.RetryMaxDelay),
		logger:       opts.Logger,
		streams:      streams.New(),
		owner:        ownership.All(),
		sourceEvents: newSourceEvents(opts.Kube, opts.Config, opts.RejectionInterval),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[types.NamespacedName](opts.RetryBaseDelay, opts.RetryMaxDelay),
			workqueue.TypedRateLimitingQueueConfig[types.NamespacedName]{Name: "taskruns"}),
	}
	a.guard = guard.New(opts.Config, opts.Metadata, opts.SendTimeout, opts.Logger, workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[types.NamespacedName](opts.RetryBaseDelay, opts.RetryMaxDelay),
		workqueue.TypedRateLimitingQueueConfig[types.NamespacedName]{Name: "guards"}))
	stats, err := newMetrics(opts.MeterProvider, opts.Config.SourceNamespace, opts.Config.SourceName, func() int { return a.queue.Len() })
	if err != nil {
		return nil, fmt.Errorf("adapter metrics: %w", err)
	}
	a.stats = stats
	a.progress = progress.New(progress.Options{
		Kube: opts.Kube, Metadata: opts.Metadata, SourceUID: opts.Config.SourceUID, SourceNamespace: opts.Config.SourceNamespace,
		Interval: opts.CheckpointInterval, JournalMax: opts.JournalMaxBytes, Writers: journalWriters(opts.LeaderElection),
		Timeout: opts.SendTimeout, RetryBase: opts.RetryBaseDelay, RetryMax: opts.RetryMaxDelay,
		Owns: a.owns, Cached: a.cached, Synced: func(ns string) bool { return a.watches.SyncedFor(ns) },
		Wrote: stats.checkpointWrote, Logger: opts.Logger,
	})
	if a.composer, err = compose.New(opts.Kube, opts.Config, opts.SendTimeout); err != nil {
		return nil, fmt.Errorf("adapter: %w", err)
	}
	if len(opts.Config.Filters) > 0 {
		a.filter = subscriptionsapi.CreateSubscriptionsAPIFilters(opts.Logger.Desugar(), opts.Config.Filters)
	}
	a.setupWatches()
	if !a.opts.Config.NamespacesFromStatus {
		if err := a.watches.Init(a.opts.Config.Namespaces); err != nil {
			return nil, fmt.Errorf("adapter: TaskRun selector: %w", err)
		}
	}
	a.setupReplays()
	if opts.LeaderElection != nil {
		if err := a.setupLeaderElection(); err != nil {
			return nil, fmt.Errorf("adapter: leader election: %w", err)
		}
	}
	return a, nil
}

// Start reads the journal, runs the informers, MaxInFlight delivery workers
// and the checkpoint writers until ctx is done, then writes every
// checkpoint still pending.
func (a *Adapter) Start(ctx context.Context) error {
	defer a.sourceEvents.shutdown()
	defer a.queue.ShutDown()
	defer a.progress.Saves().ShutDown()
	defer a.guard.Queue().ShutDown()
	// Before any delivery, so that none repeats what the journal records.
	// With replicas, each promotion reads its bucket's entries again.
	if err := a.progress.LoadAll(ctx); err != nil {
		return err
	}
	// Replays start from the synced cache. The source's watch is waited
	// for only when it tells the namespaces: else a failing one (logged)
	// holds up replays, not delivery.
	go a.sourceInformer.Run(ctx.Done())
	if a.opts.Config.NamespacesFromStatus {
		namespaces, err := a.confirmedNamespaces(ctx)
		if err != nil {
			return err
		}
		if err := a.watches.Init(namespaces); err != nil {
			return fmt.Errorf("TaskRun selector: %w", err)
		}
		// A change of the status while the first watches were built.
		if latest, ok := a.statusNamespaces(); ok {
			a.watches.SetNamespaces(latest)
		}
	}
	if !a.watches.Start(ctx) {
		return fmt.Errorf("TaskRun informers did not sync: %w", context.Cause(ctx))
	}
	a.logger.Infow("Watching TaskRuns", zap.Bool("allNamespaces", a.opts.Config.AllNamespaces),
		zap.Strings("namespaces", a.watches.Namespaces()), zap.Int("watches", a.watches.Count()),
		zap.Bool("clusterWideWatch", a.opts.Config.AllNamespaces || a.opts.Config.ClusterWatch), zap.String("selector", a.opts.Config.LabelSelector),
		zap.Any("excludeEventListener", a.opts.Config.ExcludeEventListener))
	a.progress.Prune()

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
	for i := 0; i < guardWriters; i++ {
		writers.Go(func() {
			for processNext(ctx, a.guard.Queue(), a.logger, "Deletion guard not applied", a.guardKey) {
			}
		})
	}
	for i := 0; i < checkpointWriters; i++ {
		writers.Go(func() {
			for processNext(ctx, a.progress.Saves(), a.logger, "Checkpoint not written", a.progress.SaveOwned) {
			}
		})
	}
	writers.Go(func() { a.progress.RunJournal(ctx) })
	writers.Go(func() { a.replays.Run(ctx) })
	<-ctx.Done()
	a.queue.ShutDown()
	deliveries.Wait()
	// The writers finish what is queued; writes still waiting for their
	// interval, or to be retried, and the journal are left to the flush.
	a.progress.Saves().ShutDown()
	a.guard.Queue().ShutDown()
	writers.Wait()
	// With replicas, only the buckets this one leads: the others' leaders
	// may have recorded more since.
	a.progress.Flush(ctx, a.owns)
	stopElector()
	<-electorDone
	if a.filter != nil {
		// Knative's all and any filters may clean a filter twice (their
		// reordering runs unlocked beside Cleanup) and panic: the events
		// are all recorded by now, so that is logged, not a crash.
		if _, err := guarded(func() (struct{}, error) { a.filter.Cleanup(); return struct{}{}, nil }); err != nil {
			a.logger.Warnw("Cleaning up the filters failed", zap.Error(err))
		}
	}
	return nil
}
