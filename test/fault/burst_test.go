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

package fault

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	"k8s.io/client-go/kubernetes"

	"github.com/tektonstep/tekton-step-source/test/journaltest"
	"github.com/tektonstep/tekton-step-source/test/receiver"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// journalLimit is the adapter's default journal budget (JournalMaxBytes).
const journalLimit = 256 << 10

// TestBurstOfTwoThousandWithAKill is issue 14's burst at its size: 2,000
// one-step TaskRuns start as fast as the apiserver takes them, the adapter
// binary is SIGKILLed while their started events flow and started again.
// The journal, watched throughout, never passes its budget; every
// transition arrives; the duplicates after the kill are only what was
// acknowledged but not yet checkpointed (the in-flight deliveries and one
// checkpoint interval's worth at the observed rate).
func TestBurstOfTwoThousandWithAKill(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	cfg := newSourceConfig(ns)
	proc := startAdapterProcess(t, cfg, sink.URL)
	client := tektonclient.NewForConfigOrDie(cp.Config)
	ctx := context.Background()

	journal := journaltest.Start(kubernetes.NewForConfigOrDie(cp.Config), ns, cfg.SourceUID)
	defer journal.Stop()

	const runs = 2000
	started := time.Now()
	forEach := func(do func(i int) error) error {
		var wg sync.WaitGroup
		errs := make(chan error, runs)
		sem := make(chan struct{}, 16)
		for i := range runs {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				errs <- do(i)
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				return err
			}
		}
		return nil
	}
	// Named as workload.verdict expects.
	name := func(i int) string { return fmt.Sprintf("burst-%03d", i) }
	handles := make([]*sim.Run, runs)
	created := make(chan struct{})
	var burst time.Duration
	var createErr error
	go func() {
		defer close(created)
		createErr = forEach(func(i int) error {
			r, err := sim.Create(ctx, client, ns, name(i), nil, "s0")
			if err == nil {
				handles[i] = r
				err = r.SetSteps(ctx, sim.Running())
			}
			return err
		})
		burst = time.Since(started)
	}()

	// Killed mid-burst, while TaskRuns are still being created and their
	// started events flow, and started again at once.
	if _, err := sink.WaitFor(ctx, 2*time.Minute, func(evs []cloudevents.Event) bool { return distinct(evs) >= runs/4 }); err != nil {
		t.Fatal(err)
	}
	beforeKill := distinct(sink.Events())
	rate := float64(beforeKill) / time.Since(started).Seconds()
	proc.kill()
	proc.start()
	<-created
	if createErr != nil {
		t.Fatal(createErr)
	}

	if err := forEach(func(i int) error {
		if err := handles[i].SetSteps(ctx, sim.Succeeded()); err != nil {
			return err
		}
		return handles[i].Finish(ctx, true)
	}); err != nil {
		t.Fatal(err)
	}
	evs, err := sink.WaitFor(ctx, 3*time.Minute, func(evs []cloudevents.Event) bool { return distinct(evs) >= 2*runs })
	if err != nil {
		t.Fatalf("%v (%d distinct of %d)", err, distinct(evs), 2*runs)
	}
	time.Sleep(2 * time.Second) // anything extra would show up now
	largest := journal.Stop()
	evs = sink.Events()

	dups := len(evs) - distinct(evs)
	// What a kill can repeat: the deliveries in flight (K_MAX_IN_FLIGHT=16)
	// and what was acknowledged within one checkpoint interval (1 s) and
	// the journal write that records it (well under a second more).
	if limit := 16 + int(2*rate); dups > limit {
		t.Errorf("%d duplicates after one kill; more than the ack-to-checkpoint window allows (%d at %.0f events/s)", dups, limit, rate)
	}
	if got := largest; got > journalLimit {
		t.Errorf("the journal reached %d bytes, over its %d budget", got, journalLimit)
	}
	// Every transition, in order per TaskRun.
	workload{runs: runs, steps: 1}.verdict(t, evs, "burst")
	t.Logf("%d TaskRuns started in %s; killed after %d events (%.0f/s); journal at most %d bytes (budget %d); %d duplicates",
		runs, burst.Round(time.Millisecond), beforeKill, rate, largest, journalLimit, dups)
}
