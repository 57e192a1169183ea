//go:build e2e

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

package e2e

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tektonstep/tekton-step-source/pkg/knplugin"
)

// kn runs the kn plugin against the cluster, as `kn source tektonstep`.
func kn(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := knplugin.Main(append(args, "--kubeconfig", os.Getenv("KUBECONFIG")), &out, &errOut); code != 0 {
		t.Fatalf("kn source tektonstep %s: exit %d: %s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	}
	return out.String()
}

// TestReplayWithKn: `kn source tektonstep replay --wait` on the local
// cluster re-sends a finished TaskRun's events through the real
// controller's adapter (its per-source Role lets it read its source and
// write status.replays), with the original ids, in order, marked
// replayed; asked again, it sends nothing more.
func TestReplayWithKn(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	src := newSource(t, ns, "steps", "")
	apply(t, ns, `
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: replayed
spec:
  taskSpec:
    steps:
    - name: build
      image: {{.Image}}
      script: echo building
    - name: test
      image: {{.Image}}
      script: echo testing; exit 1
`)
	waitTaskRun(t, ns, "replayed")
	live := eventsOf(t, ns, "replayed", 4)
	since := src.CreationTimestamp.UTC().Format(time.RFC3339)
	out := kn(t, "replay", "steps", "-n", ns, "--since", since, "--name", "backfill", "--wait")
	if !strings.Contains(out, "Replay 'backfill' succeeded: 4 events of 1 TaskRuns re-sent.") {
		t.Errorf("kn replay said:\n%s", out)
	}
	all := eventsOf(t, ns, "replayed", 8)
	var replayed []cloudevents.Event
	for _, e := range all[len(live):] {
		if ext(e, "replay") != "backfill" {
			t.Errorf("event %s after the live ones is not marked replayed", e.ID())
		}
		replayed = append(replayed, e)
	}
	idsOf := func(evs []cloudevents.Event) (out []string) {
		for _, e := range evs {
			out = append(out, e.ID()+" "+ext(e, "sequence"))
		}
		return out
	}
	if diff := cmp.Diff(idsOf(live), idsOf(replayed)); diff != "" {
		t.Errorf("replayed ids and sequences, want the live ones (-want +got):\n%s", diff)
	}
	if out := kn(t, "replay", "steps", "-n", ns, "--since", since, "--name", "backfill"); !strings.Contains(out, "already requested") {
		t.Errorf("kn replay of the same name said:\n%s", out)
	}
	if out := kn(t, "describe", "steps", "-n", ns); !strings.Contains(out, "backfill") || !strings.Contains(out, "Succeeded (4 events of 1 TaskRuns)") {
		t.Errorf("kn describe shows no succeeded replay:\n%s", out)
	}
	got, err := sources.SourcesV1alpha1().TektonStepSources(ns).Get(ctxFor(t, time.Minute), "steps", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Status.Replays) != 1 || got.Status.Replays[0].CompletionTime == nil || !got.Status.IsReady() {
		t.Errorf("status: replays %+v, ready %v", got.Status.Replays, got.Status.IsReady())
	}
	if n := len(eventsOf(t, ns, "replayed", 8)); n != 8 {
		t.Errorf("%d events after asking again, want 8", n)
	}
}
