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
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/go-cmp/cmp"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	stepadapter "github.com/tektonstep/tekton-step-source/pkg/adapter"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/test/receiver"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// TestForgedProgressIgnored: somebody who may patch TaskRuns (or the
// journal's ConfigMap) writes a record claiming the source already sent a
// later attempt, to silence a run. The adapter ignores a record the
// TaskRun's status cannot have, logs a warning naming the TaskRun, and
// sends every event.
func TestForgedProgressIgnored(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	cfg := sourceConfig(ns)
	client := tektonclient.NewForConfigOrDie(cp.Config)
	ctx := context.Background()
	annotated := sim.MustCreate(t, client, ns, "annotated", nil, "compile", "test", "publish")
	// Recorded for this very TaskRun (its UID), so only the claim itself
	// gives it away.
	forged, err := checkpoint.Annotation(annotated.UID, &checkpoint.Progress{Attempt: 99})
	if err != nil {
		t.Fatal(err)
	}
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, checkpoint.Key(cfg.SourceUID), forged)
	if _, err := client.TektonV1().TaskRuns(ns).Patch(ctx, annotated.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	journaled := sim.MustCreate(t, client, ns, "journaled", nil, "compile", "test", "publish")
	entry, err := checkpoint.EncodeEntry(checkpoint.Entry{
		TaskRun:  types.NamespacedName{Namespace: ns, Name: journaled.Name},
		Progress: &checkpoint.Progress{Attempt: 99},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := journal(t, cfg).Write(ctx, map[types.UID]string{journaled.UID: entry}, nil); err != nil {
		t.Fatal(err)
	}

	logs, observed := observer.New(zapcore.WarnLevel)
	startAdapter(t, cfg, sink.URL, nil, func(o *stepadapter.Options) {
		o.Logger = zap.New(zapcore.NewTee(zaptest.NewLogger(t).Core(), logs)).Sugar()
	})
	driveFailingRun(t, annotated)
	driveFailingRun(t, journaled)
	if _, err := sink.WaitFor(ctx, eventTimeout, func(evs []cloudevents.Event) bool {
		return len(forTaskRun(evs, "annotated")) == len(failingRunSequence) && len(forTaskRun(evs, "journaled")) == len(failingRunSequence)
	}); err != nil {
		t.Fatalf("the forged runs' events did not all arrive: %v", err)
	}
	assertUniqueIDs(t, sink.Events())

	warned := map[string]bool{}
	for _, e := range observed.All() {
		for _, f := range e.Context {
			if f.Key == "taskRun" {
				warned[e.Message+" "+f.String] = true
			}
		}
	}
	want := map[string]bool{
		"Ignoring the TaskRun's checkpoint " + ns + "/annotated":             true,
		"Ignoring the TaskRun's progress journal entry " + ns + "/journaled": true,
	}
	if diff := cmp.Diff(want, warned); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

// TestCopiedCheckpointIgnored: a TaskRun created from another one, as the
// Dashboard's rerun and `kubectl get -o yaml | kubectl create` do, keeps
// its annotations, the source's checkpoint among them; so does one whose
// PipelineRun or Task carries it (Tekton copies their annotations). The
// copy never counts for the new TaskRun, even once its status catches up
// with the copied claim: every one of its events is sent, the last
// (failed) one included.
func TestCopiedCheckpointIgnored(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	cfg := sourceConfig(ns)
	client := tektonclient.NewForConfigOrDie(cp.Config)
	ctx := context.Background()
	startAdapter(t, cfg, sink.URL, nil)

	original := sim.MustCreate(t, client, ns, "rr-1", nil, "compile", "test", "publish")
	driveFailingRun(t, original)
	waitForCheckpoint(t, client, ns, original.Name, cfg.SourceUID, `"s":{"compile":2,"publish":2,"test":2}`)
	tr, err := client.TektonV1().TaskRuns(ns).Get(ctx, original.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	copied := tr.Annotations[checkpoint.Key(cfg.SourceUID)]

	// The same record as written before records named their TaskRun.
	const legacy = `{"a":0,"s":{"compile":2,"publish":2,"test":2}}`
	for name, annotation := range map[string]string{"rr-2": copied, "rr-3": legacy} {
		run := sim.MustCreate(t, client, ns, name, nil, "compile", "test", "publish")
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, checkpoint.Key(cfg.SourceUID), annotation)
		if _, err := client.TektonV1().TaskRuns(ns).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		driveFailingRun(t, run)
	}
	if _, err := sink.WaitFor(ctx, eventTimeout, func(evs []cloudevents.Event) bool {
		return len(forTaskRun(evs, "rr-2")) == len(failingRunSequence) && len(forTaskRun(evs, "rr-3")) == len(failingRunSequence)
	}); err != nil {
		t.Fatalf("the copies' events did not all arrive: rr-2 %v, rr-3 %v: %v",
			sequence(forTaskRun(sink.Events(), "rr-2")), sequence(forTaskRun(sink.Events(), "rr-3")), err)
	}
	assertUniqueIDs(t, sink.Events())
	// The adapter's own record replaces the copy.
	for _, name := range []string{"rr-2", "rr-3"} {
		tr := waitForCheckpointOf(t, client, ns, name, cfg.SourceUID)
		if p, err := checkpoint.FromTaskRun(tr, cfg.SourceUID, time.Time{}); err != nil || len(p.Steps) != 3 {
			t.Errorf("%s: the checkpoint after its events is %v (%v), want the adapter's own record of all three steps", name, p, err)
		}
	}
}

// waitForCheckpointOf waits until the TaskRun carries a checkpoint of the
// source recorded for it (its own UID) and returns the TaskRun.
func waitForCheckpointOf(t *testing.T, client tektonclient.Interface, ns, name, sourceUID string) *pipelinev1.TaskRun {
	t.Helper()
	deadline := time.Now().Add(eventTimeout)
	for {
		tr, err := client.TektonV1().TaskRuns(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err == nil && strings.Contains(tr.Annotations[checkpoint.Key(sourceUID)], `"u":"`+string(tr.UID)+`"`) {
			return tr
		}
		if time.Now().After(deadline) {
			t.Fatalf("TaskRun %s never got a checkpoint recorded for it (last: %v)", name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestLegacyCheckpointsAfterAnUpgrade: records written before records
// named their TaskRun (an earlier version's adapter) still count on the
// TaskRuns created before the source's first adapter that names them
// started: upgrading re-sends nothing of them. That start is recorded in
// the journal, so a later restart keeps the same line, and a TaskRun
// created after it with such a record (a copy) gets every event.
func TestLegacyCheckpointsAfterAnUpgrade(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	cfg := sourceConfig(ns)
	client := tektonclient.NewForConfigOrDie(cp.Config)
	ctx := context.Background()
	const legacy = `{"a":0,"s":{"compile":2,"publish":2,"test":2}}`
	annotate := func(name string) {
		t.Helper()
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, checkpoint.Key(cfg.SourceUID), legacy)
		if _, err := client.TektonV1().TaskRuns(ns).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Delivered and recorded by the earlier version.
	old := sim.MustCreate(t, client, ns, "old", nil, "compile", "test", "publish")
	driveFailingRun(t, old)
	annotate(old.Name)
	time.Sleep(1100 * time.Millisecond) // creation times are in whole seconds

	first := startAdapter(t, cfg, sink.URL, nil)
	// A TaskRun after the upgrade, with no record: its events mark that
	// the adapter went through its cache.
	driveFailingRun(t, sim.MustCreate(t, client, ns, "new", nil, "compile", "test", "publish"))
	if _, err := sink.WaitFor(ctx, eventTimeout, func(evs []cloudevents.Event) bool {
		return len(forTaskRun(evs, "new")) == len(failingRunSequence)
	}); err != nil {
		t.Fatal(err)
	}
	first.stop(t)

	// A copy made after the upgrade, then a restart.
	time.Sleep(1100 * time.Millisecond)
	copied := sim.MustCreate(t, client, ns, "copied", nil, "compile", "test", "publish")
	annotate(copied.Name)
	driveFailingRun(t, copied)
	startAdapter(t, cfg, sink.URL, nil)
	if _, err := sink.WaitFor(ctx, eventTimeout, func(evs []cloudevents.Event) bool {
		return len(forTaskRun(evs, "copied")) == len(failingRunSequence)
	}); err != nil {
		t.Fatalf("the copy's events: %v: %v", sequence(forTaskRun(sink.Events(), "copied")), err)
	}
	time.Sleep(500 * time.Millisecond)
	if got := forTaskRun(sink.Events(), "old"); len(got) != 0 {
		t.Errorf("the upgrade re-sent %d events of a TaskRun the earlier version recorded: %v", len(got), sequence(got))
	}
}
