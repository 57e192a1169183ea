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
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/events"
	sourcesclient "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned"
	"github.com/tektonstep/tekton-step-source/test/receiver"
	"github.com/tektonstep/tekton-step-source/test/sourcestatus"
)

// TestNamespaceChurnWhileTheWorkloadRuns: while 1,000 transitions happen in
// a namespace that stays, ten namespaces join the source's selection and
// leave it again, one at a time (each runs a TaskRun while it is in;
// TSS_CHURN_NAMESPACES sets how many, the staying workload growing with
// them: hack/bench.sh runs 100): the
// adapter process never restarts, the staying namespace's events all
// arrive once and in order, and each churned namespace's TaskRun is
// delivered whole while it is watched.
func TestNamespaceChurnWhileTheWorkloadRuns(t *testing.T) {
	churned := 10
	if v := os.Getenv("TSS_CHURN_NAMESPACES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("TSS_CHURN_NAMESPACES=%q: want a positive number", v)
		}
		churned = n
	}
	// At the default size, the standard thousand; larger churn runs longer
	// (the 10 TaskRuns per churned namespace paced 2 ms per churned one),
	// so the churn still happens while the staying workload runs.
	stay := workload{runs: 10 * churned, steps: thousand.steps, pace: time.Duration(churned) * thousand.pace / 10}
	home, stays := cp.NewNamespace(t), cp.NewNamespace(t)
	others := make([]string, churned)
	for i := range others {
		others[i] = cp.NewNamespace(t)
	}
	sources := sourcesclient.NewForConfigOrDie(cp.Config)
	ctx := context.Background()
	src, err := sourcestatus.NewSelectorSource(ctx, sources, home, "churned")
	if err != nil {
		t.Fatal(err)
	}
	if err := sourcestatus.ConfirmNamespaces(ctx, sources, home, src.Name, true, stays); err != nil {
		t.Fatal(err)
	}
	sink := receiver.New(t)
	cfg := newSourceConfig(home)
	cfg.SourceUID, cfg.SourceName = string(src.UID), src.Name
	cfg.Namespaces, cfg.NamespacesFromStatus = nil, true
	adapter := startAdapterProcess(t, cfg, sink.URL)
	if err := adapter.waitForLog(time.Minute, `"msg":"Watching TaskRuns"`, stays); err != nil {
		t.Fatal(err)
	}

	one := workload{runs: 1, steps: 3, pace: 20 * time.Millisecond}
	client := tektonclient.NewForConfigOrDie(cp.Config)
	churn := make(chan error, 1)
	churnBegan := time.Now()
	var churnTook time.Duration
	go func() {
		defer close(churn)
		defer func() { churnTook = time.Since(churnBegan) }()
		for i, ns := range others {
			if err := sourcestatus.ConfirmNamespaces(ctx, sources, home, src.Name, true, stays, ns); err != nil {
				churn <- err
				return
			}
			if err := adapter.waitForLog(time.Minute, "Watching the TaskRuns of a namespace that joined", ns); err != nil {
				churn <- err
				return
			}
			if err := one.driveOne(client, ns, fmt.Sprintf("churn-%02d", i)); err != nil {
				churn <- err
				return
			}
			if _, err := sink.WaitFor(ctx, time.Minute, func(evs []cloudevents.Event) bool {
				return len(ofNamespace(evs, ns)) >= one.transitions()
			}); err != nil {
				churn <- fmt.Errorf("namespace %d's TaskRun: %w", i, err)
				return
			}
			if err := sourcestatus.ConfirmNamespaces(ctx, sources, home, src.Name, true, stays); err != nil {
				churn <- err
				return
			}
			if err := adapter.waitForLog(time.Minute, "No longer watching the TaskRuns of a namespace that left", ns); err != nil {
				churn <- err
				return
			}
		}
	}()
	began := time.Now()
	stay.drive(t, stays, "stays")
	driven := time.Since(began)
	if err := <-churn; err != nil {
		t.Fatalf("%v; the adapter's log:\n%s", err, adapter.Output())
	}
	if _, err := sink.WaitFor(ctx, 2*time.Minute, func(evs []cloudevents.Event) bool {
		return len(ofNamespace(evs, stays)) >= stay.transitions()
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // anything extra would show up now
	dups := stay.verdict(t, ofNamespace(sink.Events(), stays), "stays")
	if dups != 0 {
		t.Errorf("%d duplicate events in the namespace that stayed; want 0", dups)
	}
	for i, ns := range others {
		if got := len(ofNamespace(sink.Events(), ns)); got != one.transitions() {
			t.Errorf("churned namespace %d: %d events, want %d", i, got, one.transitions())
		}
	}
	starts := strings.Count(adapter.Output(), `"msg":"Watching TaskRuns"`)
	if starts != 1 {
		t.Errorf("the adapter started %d times, want once", starts)
	}
	t.Logf("%d namespaces joined and left, one at a time, in %s, while %d transitions happened in the namespace that stayed (written in %s): %d adapter restarts, %d distinct and %d repeated events there",
		churned, churnTook.Round(time.Millisecond), stay.transitions(), driven.Round(time.Millisecond), starts-1, distinct(ofNamespace(sink.Events(), stays)), dups)
}

// ofNamespace: the events of the TaskRuns of namespace ns.
func ofNamespace(evs []cloudevents.Event, ns string) []cloudevents.Event {
	var out []cloudevents.Event
	for _, e := range evs {
		if e.Extensions()[events.ExtNamespace] == ns {
			out = append(out, e)
		}
	}
	return out
}

// waitForLog waits until a line of the adapter's output has msg and
// mentions what.
func (p *adapterProcess) waitForLog(timeout time.Duration, msg, what string) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(p.Output(), "\n") {
			if strings.Contains(line, msg) && strings.Contains(line, what) {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("the adapter did not log %q for %s within %s", msg, what, timeout)
}
