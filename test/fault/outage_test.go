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
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"

	"github.com/tektonstep/tekton-step-source/test/procstat"
	"github.com/tektonstep/tekton-step-source/test/receiver"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// outageSize is the running TaskRuns and the outage's length of
// TestSinkOutageWithRunningTaskRuns: 200 and 15 s by default,
// TSS_OUTAGE_RUNNING and TSS_OUTAGE (hack/bench.sh: 2,000 and 5m).
func outageSize(t *testing.T) (int, time.Duration) {
	running, outage := 200, 15*time.Second
	if v := os.Getenv("TSS_OUTAGE_RUNNING"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("TSS_OUTAGE_RUNNING=%q: want a positive number", v)
		}
		running = n
	}
	if v := os.Getenv("TSS_OUTAGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("TSS_OUTAGE=%q: %v", v, err)
		}
		outage = d
	}
	return running, outage
}

// TestSinkOutageWithRunningTaskRuns: many TaskRuns of two steps run; their
// first step's start is delivered; the sink goes down; every TaskRun's
// first step ends and its second starts (two events each waiting) while
// the sink stays down; it comes back, and then every TaskRun finishes.
// The adapter process stays up throughout (its memory is read every
// second, which fails once it is gone), every event arrives once and
// in order per TaskRun, and its memory before, during and after the outage
// is reported (hack/bench.sh runs this with 2,000 TaskRuns for 5 minutes).
func TestSinkOutageWithRunningTaskRuns(t *testing.T) {
	running, outage := outageSize(t)
	w := workload{runs: running, steps: 2}
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	adapter := startAdapterProcess(t, newSourceConfig(ns), sink.URL)
	if err := adapter.waitForLog(time.Minute, `"msg":"Watching TaskRuns"`, ns); err != nil {
		t.Fatal(err)
	}
	pid := adapter.pid()
	memory := func(when string) procstat.Memory {
		t.Helper()
		m, err := procstat.ReadMemory(pid)
		if err != nil {
			t.Fatalf("%s: the adapter process %d: %v", when, pid, err)
		}
		return m
	}

	client := tektonclient.NewForConfigOrDie(cp.Config)
	runs := make([]*sim.Run, running)
	forEach := func(write func(r *sim.Run) error) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, running)
		sem := make(chan struct{}, 8)
		for i := range runs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				errs <- write(runs[i])
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx := context.Background()
	for i := range runs {
		runs[i] = &sim.Run{Name: fmt.Sprintf("out-%03d", i)}
	}
	forEach(func(r *sim.Run) error {
		created, err := sim.Create(ctx, client, ns, r.Name, nil, w.stepNames()...)
		if err == nil {
			*r = *created
			err = r.SetSteps(ctx, sim.Running(), sim.Waiting())
		}
		return err
	})
	waitDistinct := func(n int, timeout time.Duration) {
		t.Helper()
		if _, err := sink.WaitFor(ctx, timeout, func(evs []cloudevents.Event) bool { return distinct(evs) >= n }); err != nil {
			t.Fatalf("%v: %d of %d distinct events; the adapter's output ends:\n%s", err, distinct(sink.Events()), n, tail(adapter.Output(), 3000))
		}
	}
	waitDistinct(running, 2*time.Minute)
	before := memory("before the outage")

	sink.FailWith(http.StatusServiceUnavailable)
	down := time.Now()
	forEach(func(r *sim.Run) error { return r.SetSteps(ctx, sim.Succeeded(), sim.Running()) })
	written := time.Since(down)
	var during procstat.Memory
	for time.Since(down) < outage {
		if m := memory("during the outage"); m.Now > during.Now {
			during = m
		}
		time.Sleep(time.Second)
	}
	refused := sink.Rejected()
	sink.FailWith(0)
	recovered := time.Now()
	waitDistinct(3*running, 5*time.Minute)
	drained := time.Since(recovered)
	after := memory("after the outage")

	forEach(func(r *sim.Run) error { return r.Complete(ctx, true, sim.Succeeded(), sim.Succeeded()) })
	waitDistinct(w.transitions(), 2*time.Minute)
	time.Sleep(2 * time.Second) // anything extra would show up now
	if dups := w.verdict(t, sink.Events(), "out"); dups != 0 {
		t.Errorf("%d duplicate events after a sink outage; want 0", dups)
	}
	// A process that died is a zombie without memory: this fails then.
	memory("at the end")
	t.Logf("%d running TaskRuns, sink down %s (their %d step events written in %s, %d delivery attempts refused), drained in %s",
		running, outage, 2*running, written.Round(time.Millisecond), refused, drained.Round(time.Millisecond))
	t.Logf("adapter memory before the outage: %s", before)
	t.Logf("adapter memory during the outage (highest RSS of the 1 s samples): %s", during)
	t.Logf("adapter memory after the outage, drained: %s", after)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
