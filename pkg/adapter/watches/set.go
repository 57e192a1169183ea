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

// Package watches keeps the adapter's TaskRun watches and which namespaces
// they serve. The namespaces of a source with a namespaceSelector follow
// its status.namespaces while the adapter runs (namespacesFromStatus), so
// a namespace joining or leaving the selector neither restarts the adapter
// nor touches the watches of the namespaces that stay.
package watches

import (
	"context"
	"slices"
	"sync"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonlisters "github.com/tektoncd/pipeline/pkg/client/listers/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// Watch is one TaskRun informer.
type Watch struct {
	informer cache.SharedIndexInformer
	lister   tektonlisters.TaskRunLister
	// stop is closed when the watch ends before the adapter does (its
	// namespace left); cancel ends its informer's run (nil before it
	// runs). Both under the Set's lock.
	stop   chan struct{}
	cancel context.CancelFunc
}

// Set holds the TaskRun watches: those the config starts with
// (cluster-wide, or one per namespace), and one per namespace that joined
// later. A cluster-wide watch for a list of namespaces (ClusterWatch)
// serves the namespaces the adapter started with; one that joins later
// gets a watch of its own (the cluster-wide one cached it as a bare name),
// until the next start serves it with the rest.
type Set struct {
	cfg *adaptercontract.Config
	// newWatch builds a watch; keep says which of its TaskRuns it handles.
	newWatch func(w adaptercontract.Watch, keep func(namespace string) bool) *Watch

	mu sync.RWMutex
	// ctx runs the watches once started (nil before).
	ctx context.Context
	// byNamespace are the namespaced watches; cluster the cluster-wide
	// one, if any. clusterServes are the namespaces the cluster-wide watch
	// serves for a list of namespaces (sorted).
	byNamespace   map[string]*Watch
	cluster       *Watch
	clusterServes []string
	// current are the watched namespaces (sorted), unless AllNamespaces;
	// initialized once init built the first watches.
	current     []string
	initialized bool
}

func NewSet(cfg *adaptercontract.Config, newWatch func(adaptercontract.Watch, func(string) bool) *Watch) *Set {
	return &Set{cfg: cfg, newWatch: newWatch, byNamespace: map[string]*Watch{}}
}

// Init builds the watches for the first namespaces (ignored with
// AllNamespaces), before the set starts.
func (s *Set) Init(namespaces []string) error {
	cfg := *s.cfg
	cfg.Namespaces = slices.Sorted(slices.Values(namespaces))
	watches, err := cfg.Watches()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.current, s.initialized = cfg.Namespaces, true
	if cfg.ClusterWatch {
		s.clusterServes = cfg.Namespaces
	}
	for _, w := range watches {
		if w.Namespace == metav1.NamespaceAll {
			s.cluster = s.newWatch(w, s.handledByCluster)
		} else {
			s.byNamespace[w.Namespace] = s.newWatch(w, s.watching)
		}
	}
	return nil
}

// handledByCluster is servedByCluster for the watches' handlers.
func (s *Set) handledByCluster(namespace string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.servedByCluster(namespace)
}

// Start runs the watches until ctx ends and waits for their caches; a
// watch added later runs from its addition.
func (s *Set) Start(ctx context.Context) bool {
	s.mu.Lock()
	s.ctx = ctx
	all := s.allLocked()
	syncs := make([]cache.InformerSynced, 0, len(all))
	for _, w := range all {
		w.run(ctx)
		syncs = append(syncs, w.synced)
	}
	s.mu.Unlock()
	return cache.WaitForCacheSync(ctx.Done(), syncs...)
}

// NewWatch is a watch of the informer, not yet run.
func NewWatch(informer cache.SharedIndexInformer, lister tektonlisters.TaskRunLister) *Watch {
	return &Watch{informer: informer, lister: lister, stop: make(chan struct{})}
}

// run runs the informer until ctx ends or the watch does. A context of
// the standard library's, where Run's stop channel would cost each watch
// two goroutines more (one merging it with ctx, one context.Context
// wrapping it), about a fifth of a watch's goroutines and their stacks.
func (w *Watch) run(ctx context.Context) {
	runCtx, cancel := context.WithCancel(ctx)
	w.cancel = cancel
	go w.informer.RunWithContext(runCtx)
}

// end ends the watch before the adapter: its namespace left.
func (w *Watch) end() {
	close(w.stop)
	if w.cancel != nil {
		w.cancel()
	}
}

// synced: the watch listed its TaskRuns, or was stopped (its namespace
// left before: nothing of it is waited for).
func (w *Watch) synced() bool {
	select {
	case <-w.stop:
		return true
	default:
		return w.informer.HasSynced()
	}
}

// Synced reports whether every watch listed its TaskRuns: a namespace
// that just joined is still being listed until then.
func (s *Set) Synced() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, w := range s.allLocked() {
		if !w.synced() {
			return false
		}
	}
	return true
}

// SyncedFor reports whether the watch of the namespace listed its
// TaskRuns (true for a namespace no watch serves).
func (s *Set) SyncedFor(namespace string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	w := s.servingLocked(namespace)
	return w == nil || w.synced()
}

// Namespaces are the watched namespaces (nil with AllNamespaces).
func (s *Set) Namespaces() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.current)
}

// SetNamespaces makes namespaces (sorted) the watched ones: a watch for
// each that joined, and the watch of each that left stopped. It reports
// the namespaces that joined and left, and false (doing nothing) before
// init. The TaskRuns of a joining namespace come as its watch lists them;
// those of a leaving one are no longer handled.
func (s *Set) SetNamespaces(namespaces []string) (joined, left []string, applied bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.initialized {
		return nil, nil, false
	}
	for _, ns := range s.current {
		if _, ok := slices.BinarySearch(namespaces, ns); !ok {
			left = append(left, ns)
		}
	}
	for _, ns := range namespaces {
		if _, ok := slices.BinarySearch(s.current, ns); !ok {
			joined = append(joined, ns)
		}
	}
	s.current = namespaces
	for _, ns := range left {
		if w := s.byNamespace[ns]; w != nil {
			w.end()
			delete(s.byNamespace, ns)
		}
	}
	for _, ns := range joined {
		// Its own watch even when the cluster-wide one served it before:
		// that one cached it as a bare name while it was away.
		w, err := s.cfg.NamespaceWatch(ns)
		if err != nil {
			// The selectors parsed when the adapter started (Decode).
			continue
		}
		nw := s.newWatch(w, s.watching)
		s.byNamespace[ns] = nw
		if s.ctx != nil {
			nw.run(s.ctx)
		}
	}
	return joined, left, true
}

// watching reports whether the namespace's TaskRuns are handled.
func (s *Set) watching(namespace string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.watchingLocked(namespace)
}

func (s *Set) watchingLocked(namespace string) bool {
	if s.cfg.AllNamespaces {
		return true
	}
	_, ok := slices.BinarySearch(s.current, namespace)
	return ok
}

// servedByCluster: the cluster-wide watch handles the namespace's
// TaskRuns (it is watched, and not by a watch of its own).
func (s *Set) servedByCluster(namespace string) bool {
	if _, own := s.byNamespace[namespace]; own {
		return false
	}
	if s.cfg.AllNamespaces {
		return true
	}
	_, served := slices.BinarySearch(s.clusterServes, namespace)
	return served && s.watchingLocked(namespace)
}

// servingLocked is the watch that handles the namespace's TaskRuns, nil
// when it is not watched: its own watch (a namespace leaving loses it),
// else the cluster-wide one if that serves it.
func (s *Set) servingLocked(namespace string) *Watch {
	if w, ok := s.byNamespace[namespace]; ok {
		return w
	}
	if s.cluster != nil && s.servedByCluster(namespace) {
		return s.cluster
	}
	return nil
}

// Lister is the namespace's TaskRun lister, nil when it is not watched.
func (s *Set) Lister(namespace string) tektonlisters.TaskRunNamespaceLister {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if w := s.servingLocked(namespace); w != nil {
		return w.lister.TaskRuns(namespace)
	}
	return nil
}

// Each calls visit with every cached TaskRun of the watched namespaces.
func (s *Set) Each(visit func(*pipelinev1.TaskRun)) {
	s.mu.RLock()
	all := s.allLocked()
	s.mu.RUnlock()
	for _, w := range all {
		for _, obj := range w.informer.GetStore().List() {
			if tr, ok := obj.(*pipelinev1.TaskRun); ok && s.handles(w, tr.Namespace) {
				visit(tr)
			}
		}
	}
}

// handles: the watch w handles the namespace's TaskRuns.
func (s *Set) handles(w *Watch, namespace string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.servingLocked(namespace) == w
}

// Count is the number of watches.
func (s *Set) Count() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.allLocked())
}

func (s *Set) allLocked() []*Watch {
	out := make([]*Watch, 0, len(s.byNamespace)+1)
	if s.cluster != nil {
		out = append(out, s.cluster)
	}
	for _, w := range s.byNamespace {
		out = append(out, w)
	}
	return out
}

// Confirmed: the namespaces to watch (sorted) that the source's status
// confirms, false when it confirms none. A refusal (SufficientPermissions
// not True) clears status.namespaces: the adapter keeps what it watches,
// as it did before the refusal, until the controller decides again.
func Confirmed(src *v1alpha1.TektonStepSource) ([]string, bool) {
	c := src.Status.GetCondition(v1alpha1.TektonStepSourceConditionSufficientPermissions)
	if c == nil || !c.IsTrue() {
		return nil, false
	}
	return slices.Sorted(slices.Values(src.Status.Namespaces)), true
}
