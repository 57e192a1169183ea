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

package integration

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	stepadapter "github.com/tektonstep/tekton-step-source/pkg/adapter"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/test/journaltest"
	"github.com/tektonstep/tekton-step-source/test/receiver"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// TestJournalBurstStaysWithinItsBudget: many TaskRuns starting within one
// checkpoint interval do not push the journal past JournalMaxBytes (it is
// watched throughout); those that do not fit are checkpointed in their
// annotation, every event is delivered, and a restart sends none again.
func TestJournalBurstStaysWithinItsBudget(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	cfg := sourceConfig(ns)
	const budget = 2048 // room for about 25 entries
	small := func(o *stepadapter.Options) { o.JournalMaxBytes = budget }
	first := startAdapter(t, cfg, sink.URL, nil, small)
	client := tektonclient.NewForConfigOrDie(cp.Config)
	ctx := context.Background()

	journalSize := journaltest.Start(kubernetes.NewForConfigOrDie(cp.Config), ns, cfg.SourceUID)

	const runs = 80
	runsByName := make([]*sim.Run, runs)
	parallelDo(t, runs, func(i int) error {
		r, err := sim.Create(ctx, client, ns, fmt.Sprintf("burst-%d", i), nil, "a", "b")
		if err != nil {
			return err
		}
		runsByName[i] = r
		return r.SetSteps(ctx, sim.Running(), sim.Running())
	})
	if _, err := sink.WaitForCount(ctx, eventTimeout, runs); err != nil {
		t.Fatal(err)
	}
	// Every TaskRun's progress is durable somewhere: its journal entry or
	// its annotation.
	deadline := time.Now().Add(eventTimeout)
	for {
		entries, _, err := journal(t, cfg).Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		annotated := 0
		list, err := client.TektonV1().TaskRuns(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range list.Items {
			if _, ok := tr.Annotations[checkpoint.Key(cfg.SourceUID)]; ok {
				if _, journaled := entries[tr.UID]; !journaled {
					annotated++
				}
			}
		}
		if len(entries)+annotated == runs {
			if len(entries) == 0 || annotated == 0 {
				t.Errorf("%d journaled, %d annotated: want both stores used", len(entries), annotated)
			}
			t.Logf("%d TaskRuns journaled, %d in their annotation", len(entries), annotated)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("progress recorded for %d journaled + %d annotated of %d TaskRuns", len(entries), annotated, runs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	largest := journalSize.Stop()
	if n := largest; n > budget || n == 0 {
		t.Errorf("the journal reached %d bytes, budget %d", n, budget)
	}

	first.stop(t)
	startAdapter(t, cfg, sink.URL, nil, small)
	parallelDo(t, runs, func(i int) error {
		return runsByName[i].SetSteps(ctx, sim.Succeeded(), sim.Running())
	})
	evs, err := sink.WaitForCount(ctx, eventTimeout, 3*runs)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	evs = sink.Events()
	assertUniqueIDs(t, evs)
	if len(evs) != 3*runs {
		t.Errorf("%d events, want %d (started before the restart, succeeded and the next started after, none twice)", len(evs), 3*runs)
	}
}

// parallelDo runs do for 0..n-1, 8 at a time.
func parallelDo(t *testing.T, n int, do func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := do(i); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
