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

// Package balance elects the leaders of a source's buckets so that each
// live replica leads about buckets/replicas of them. knative.dev/pkg's
// standard elector lets every replica campaign for every bucket, so the
// first replica up leads them all and keeps them; its StatefulSet elector
// balances by pod ordinal but has no handover (a bucket waits for its
// pod to come back). This one keeps Knative's Lease per bucket, and so
// its handover on death, and adds a share: a replica campaigns for a free
// bucket only below its share of the live replicas (or once the bucket
// has been without a leader for a grace period), and lets go of the
// buckets above its share one at a time, after flushing them, for a
// replica below its share to take.
package balance

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"knative.dev/pkg/reconciler"
)

// Config configures an Elector.
type Config struct {
	Kube kubernetes.Interface
	// Namespace holds the buckets' Leases, named as the buckets.
	Namespace string
	// Identity is this replica's holder identity in the Leases.
	Identity string
	Buckets  []reconciler.Bucket
	// LeaseDuration, RenewDeadline and RetryPeriod are client-go's
	// leader election timings of each bucket.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Grace is how long a bucket must be without a leader before a
	// replica that already leads its share takes it too.
	Grace time.Duration
	// Live counts the replicas that run now; on an error the last count
	// stays (at first, one replica per bucket).
	Live func(context.Context) (int, error)
	// BeforeRelease runs before a bucket above the share is let go, while
	// this replica still leads it: it hands over its progress.
	BeforeRelease func(reconciler.Bucket)
	Logger        *zap.SugaredLogger
}

// Elector runs the election of every bucket (knative.dev/pkg's
// leaderelection.Elector).
type Elector struct {
	cfg Config
	la  reconciler.LeaderAware
	enq func(reconciler.Bucket, types.NamespacedName)

	mu sync.Mutex
	// held are the buckets this replica leads or is acquiring, with when
	// it began; cancel ends each bucket's current term.
	held   map[string]time.Time
	cancel map[string]context.CancelFunc
	live   int
}

// New builds an Elector promoting and demoting la's buckets.
func New(cfg Config, la reconciler.LeaderAware, enq func(reconciler.Bucket, types.NamespacedName)) *Elector {
	return &Elector{cfg: cfg, la: la, enq: enq, held: map[string]time.Time{}, cancel: map[string]context.CancelFunc{}, live: len(cfg.Buckets)}
}

// Run campaigns for the buckets and balances them until ctx ends; then
// the buckets led are released (after la's demotion of each).
func (e *Elector) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, b := range e.cfg.Buckets {
		wg.Go(func() { e.campaign(ctx, b) })
	}
	wg.Go(func() { e.rebalance(ctx) })
	wg.Wait()
}

// campaign runs terms of one bucket's election until ctx ends. Between
// terms it reads the bucket's Lease every RetryPeriod and starts a term
// only when the Lease is free and the share allows taking it, so a
// replica at its share does not contend (nor log failed acquisitions).
func (e *Elector) campaign(ctx context.Context, b reconciler.Bucket) {
	rl, err := resourcelock.New(resourcelock.LeasesResourceLock, e.cfg.Namespace, b.Name(),
		e.cfg.Kube.CoreV1(), e.cfg.Kube.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: e.cfg.Identity})
	if err != nil {
		e.cfg.Logger.Errorw("Cannot build a bucket's lock", zap.String("bucket", b.Name()), zap.Error(err))
		return
	}
	var lease leaseObserver
	for {
		rec, raw, err := rl.Get(ctx)
		switch {
		case err == nil:
			lease.observe(rec.HolderIdentity, rec.LeaseDurationSeconds, raw)
		case apierrors.IsNotFound(err):
			// client-go's elector creates it.
			lease.observe("", 0, nil)
		default:
			e.cfg.Logger.Debugw("Cannot read a bucket's Lease", zap.String("bucket", b.Name()), zap.Error(err))
		}
		if err == nil || apierrors.IsNotFound(err) {
			if freeFor, free := lease.freeFor(); free && e.reserve(b.Name(), freeFor) {
				e.term(ctx, b, rl)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(e.cfg.RetryPeriod):
		}
	}
}

// term runs one term of the bucket's election: it takes the Lease (or
// gives up when another replica got it first), leads until the Lease is
// lost, let go (rebalance) or ctx ends, and releases it.
func (e *Elector) term(ctx context.Context, b reconciler.Bucket, rl resourcelock.Interface) {
	termCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer func() {
		e.mu.Lock()
		delete(e.cancel, b.Name())
		delete(e.held, b.Name())
		e.mu.Unlock()
	}()
	e.mu.Lock()
	e.cancel[b.Name()] = cancel
	e.mu.Unlock()
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:          rl,
		LeaseDuration: e.cfg.LeaseDuration,
		RenewDeadline: e.cfg.RenewDeadline,
		RetryPeriod:   e.cfg.RetryPeriod,
		Callbacks: termCallbacks(func() {
			if err := e.la.Promote(b, e.enq); err != nil {
				e.cfg.Logger.Errorw("Cannot take over a bucket", zap.String("bucket", b.Name()), zap.Error(err))
			}
		}, func() { e.la.Demote(b) }),
		ReleaseOnCancel: true,
		Name:            b.Name(),
	})
	if err != nil {
		e.cfg.Logger.Errorw("Cannot run a bucket's election", zap.String("bucket", b.Name()), zap.Error(err))
		return
	}
	go func() {
		// Another replica that read the Lease free at the same time
		// may have taken it: stop trying, and let the share decide anew.
		// client-go's elector takes an expired Lease only after watching
		// it unrenewed for LeaseDuration itself.
		select {
		case <-termCtx.Done():
		case <-time.After(2*e.cfg.LeaseDuration + e.cfg.RetryPeriod):
			if !le.IsLeader() {
				cancel()
			}
		}
	}()
	le.Run(termCtx)
}

// termCallbacks promotes and demotes the bucket for one term. client-go
// calls OnStartedLeading in a goroutine of its own and OnStoppedLeading
// when the term ends, which can come first when the Lease is lost at
// once: a promotion after that would leave the bucket led by two
// replicas, so it is skipped. A term that ends while the promotion runs
// is demoted at once (the promotion's journal read is outlived by the
// demotion, which wins) and once more when the promotion returns, in case
// the first demotion came before the promotion marked the bucket led.
func termCallbacks(promote, demote func()) leaderelection.LeaderCallbacks {
	var mu sync.Mutex
	var started, ended bool
	return leaderelection.LeaderCallbacks{
		OnStartedLeading: func(context.Context) {
			mu.Lock()
			if ended {
				mu.Unlock()
				return
			}
			started = true
			mu.Unlock()
			promote()
			mu.Lock()
			lost := ended
			mu.Unlock()
			if lost {
				demote()
			}
		},
		OnStoppedLeading: func() {
			mu.Lock()
			ended = true
			wasStarted := started
			mu.Unlock()
			if wasStarted {
				demote()
			}
		},
	}
}

// rebalance recounts the live replicas every RetryPeriod and lets go of
// one bucket above the share at a time (the one led for the shortest
// time), so that the share moves between replicas one handover at a time.
func (e *Elector) rebalance(ctx context.Context) {
	ticker := time.NewTicker(e.cfg.RetryPeriod)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if n, err := e.cfg.Live(ctx); err != nil {
			e.cfg.Logger.Debugw("Cannot count the live replicas; the last count stays", zap.Error(err))
		} else {
			e.mu.Lock()
			e.live = n
			e.mu.Unlock()
		}
		b, share, live := e.excess()
		if b == nil {
			continue
		}
		e.mu.Lock()
		cancel := e.cancel[b.Name()]
		e.mu.Unlock()
		if cancel == nil {
			// Reserved, its term not begun yet: the next tick decides.
			continue
		}
		e.cfg.Logger.Infow("Letting go of a bucket for another replica", zap.String("bucket", b.Name()),
			zap.Int("share", share), zap.Int("liveReplicas", live))
		e.cfg.BeforeRelease(b)
		cancel()
	}
}

// excess picks the bucket to let go, if this replica leads more than its
// share.
func (e *Elector) excess() (reconciler.Bucket, int, int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	share := Share(len(e.cfg.Buckets), e.live)
	if Excess(len(e.held), share) == 0 {
		return nil, share, e.live
	}
	var newest reconciler.Bucket
	var since time.Time
	for _, b := range e.cfg.Buckets {
		if at, ok := e.held[b.Name()]; ok && (newest == nil || at.After(since)) {
			newest, since = b, at
		}
	}
	return newest, share, e.live
}

// reserve decides whether this replica takes a free bucket, free for
// freeFor, and counts it as held if so.
func (e *Elector) reserve(bucket string, freeFor time.Duration) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.held[bucket]; ok {
		return true
	}
	if !MayAcquire(len(e.held), Share(len(e.cfg.Buckets), e.live), freeFor, e.cfg.Grace) {
		return false
	}
	e.held[bucket] = time.Now()
	return true
}

// leaseObserver tells how long a bucket's Lease has been free, by this
// replica's clock, as client-go's elector measures expiry: from the moment
// a record was first read, plus its duration unless nobody holds it.
type leaseObserver struct {
	raw       []byte
	seen      bool
	freeSince time.Time
}

func (o *leaseObserver) observe(holder string, durationSeconds int, raw []byte) {
	if o.seen && string(raw) == string(o.raw) {
		return
	}
	o.raw, o.seen, o.freeSince = raw, true, time.Now()
	if holder != "" {
		o.freeSince = o.freeSince.Add(time.Duration(durationSeconds) * time.Second)
	}
}

// freeFor is how long the Lease has been free, if it is.
func (o *leaseObserver) freeFor() (time.Duration, bool) {
	d := time.Since(o.freeSince)
	return d, o.seen && d >= 0
}
