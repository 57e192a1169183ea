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

// This file writes the workload: the namespaces, the finished TaskRuns of
// the RSS run, and the rate-limited step status writes of a throughput
// round, each remembered in a writeLog for the tallies.

package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"knative.dev/pkg/apis"

	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// writeLog remembers when each status write was issued, by resourceVersion
// and by (TaskRun, update index).
type writeLog struct {
	mu     sync.Mutex
	byRV   map[string]time.Time
	byStep map[string]time.Time
}

func (w *writeLog) add(rv, key string, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.byRV[rv] = at
	if key != "" {
		w.byStep[key] = at
	}
}

func (w *writeLog) first() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	var first time.Time
	for _, at := range w.byRV {
		if first.IsZero() || at.Before(first) {
			first = at
		}
	}
	return first
}

func (b *bench) newNamespace() (string, error) {
	ns, err := kubernetes.NewForConfigOrDie(b.cp.Config).CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "bench-"}}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return ns.Name, nil
}

// createFinished creates opts.cached TaskRuns whose steps all succeeded and
// that completed: the state Tekton leaves them in (SetSteps then Finish,
// written as one status update).
func (b *bench) createFinished(ns string) error {
	var names []string
	for i := 0; i < b.opts.steps; i++ {
		names = append(names, fmt.Sprintf("s%d", i))
	}
	ctx := context.Background()
	return parallel(b.opts.cached, 16, func(i int) error {
		r, err := sim.Create(ctx, b.tekton, ns, fmt.Sprintf("done-%05d", i), nil, names...)
		if err != nil {
			return err
		}
		tr, err := b.tekton.TektonV1().TaskRuns(ns).Get(ctx, r.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := time.Now().Truncate(time.Second)
		tr.Status.Steps = nil
		for _, s := range r.Steps {
			tr.Status.Steps = append(tr.Status.Steps, sim.Succeeded()(s, now))
		}
		tr.Status.CompletionTime = &metav1.Time{Time: now}
		tr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue, Reason: "Succeeded"})
		_, err = b.tekton.TektonV1().TaskRuns(ns).UpdateStatus(ctx, tr, metav1.UpdateOptions{})
		return err
	})
}

// drive runs the workload at the target transition rate: each TaskRun goes
// through steps+1 status writes (all running, then one more step succeeded
// per write, the last one also completing the TaskRun), 2 transitions per
// write on average.
func (b *bench) drive(ns string, writes *writeLog) error {
	opts := b.opts
	var names []string
	for i := 0; i < opts.steps; i++ {
		names = append(names, fmt.Sprintf("s%d", i))
	}
	runs := make([]*sim.Run, opts.runs)
	if err := parallel(opts.runs, 16, func(i int) error {
		r, err := sim.Create(context.Background(), b.tekton, ns, fmt.Sprintf("run-%04d", i), nil, names...)
		runs[i] = r
		return err
	}); err != nil {
		return err
	}
	writesPerSecond := opts.rate * float64(opts.steps+1) / float64(2*opts.steps)
	tokens := make(chan struct{})
	stopTicker := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Duration(float64(time.Second) / writesPerSecond))
		defer t.Stop()
		for {
			select {
			case <-t.C:
				select {
				case tokens <- struct{}{}:
				case <-stopTicker:
					return
				}
			case <-stopTicker:
				return
			}
		}
	}()
	defer close(stopTicker)
	return parallel(opts.runs, opts.concurrent, func(i int) error {
		r := runs[i]
		for k := 0; k <= opts.steps; k++ {
			<-tokens
			key := fmt.Sprintf("%s/%d", r.Name, k)
			r.OnWrite = func(rv string, at time.Time) { writes.add(rv, key, at) }
			write := r.SetSteps
			if k == opts.steps {
				// The last step's end is the TaskRun's, in one write.
				write = func(ctx context.Context, states ...sim.State) error { return r.Complete(ctx, true, states...) }
			}
			if err := write(context.Background(), sim.Progressed(opts.steps, k)...); err != nil {
				return err
			}
		}
		return nil
	})
}

// parallel runs f(0..n-1) with at most width at a time and returns the
// first error.
func parallel(n, width int, f func(i int) error) error {
	sem := make(chan struct{}, width)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := f(i); err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	return <-errs
}
