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
	"net/http"
	"testing"
	"time"

	"github.com/tektonstep/tekton-step-source/test/receiver"
)

// TestDeletedRightAfterFinishingWhileSinkIsDown is issue 14's scenario at
// its size: 200 TaskRuns, each deleted within a few milliseconds of
// finishing (what a pruner, `keep: N` cleanup or a PipelineRun's deletion
// does), while the sink is down for 30 s; after it recovers every
// transition arrives, in order per TaskRun, with no duplicate id.
func TestDeletedRightAfterFinishingWhileSinkIsDown(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	sink.FailWith(http.StatusServiceUnavailable)
	startInProcess(t, newSourceConfig(ns), sink.URL, 16)

	pruned := workload{runs: 200, steps: 2, pace: 10 * time.Millisecond, deleteAfter: true}
	start := time.Now()
	pruned.drive(t, ns, "pruned")
	t.Logf("drove and deleted %d TaskRuns (%d transitions) in %s", pruned.runs, pruned.transitions(), time.Since(start).Round(time.Millisecond))
	time.Sleep(time.Until(start.Add(30 * time.Second)))
	refused := sink.Rejected()
	sink.FailWith(0)
	recovered := time.Now()

	if _, err := sink.WaitForCount(context.Background(), 2*time.Minute, pruned.transitions()); err != nil {
		t.Fatal(err)
	}
	drained := time.Since(recovered)
	time.Sleep(2 * time.Second) // anything extra would show up now
	evs := sink.Events()
	if dups := pruned.verdict(t, evs, "pruned"); dups != 0 {
		t.Errorf("%d duplicate events; want 0", dups)
	}
	t.Logf("sink down 30 s: %d attempts refused; after recovery %d events in %s", refused, len(evs), drained.Round(time.Millisecond))
}
