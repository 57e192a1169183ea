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
	"testing"
	"time"

	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/utils/ptr"
	"knative.dev/pkg/leaderelection"
	"knative.dev/pkg/system"

	stepadapter "github.com/tektonstep/tekton-step-source/pkg/adapter"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/test/receiver"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// TestPromotionLeavesTheAnnotationAlone: the replica that led a bucket
// delivered a finished TaskRun's events, wrote its annotation and died
// before it removed the TaskRun's older journal entry. The replica
// promoted to the bucket next (running since before the entry was
// written, so its start-time pruning did not see it) removes the obsolete
// entry, sends nothing, and when it stops does not write the older
// progress over the annotation (the bucket's next leader would then send
// the TaskRun's last events again).
func TestPromotionLeavesTheAnnotationAlone(t *testing.T) {
	ns := cp.NewNamespace(t)
	t.Setenv(system.NamespaceEnvKey, ns) // the Leases' namespace
	sink := receiver.New(t)
	cfg := sourceConfig(ns)
	ctx := context.Background()
	client := tektonclient.NewForConfigOrDie(cp.Config)
	kube := kubernetes.NewForConfigOrDie(cp.Config)

	run := sim.MustCreate(t, client, ns, "done", nil, "compile", "test")
	if err := run.Complete(ctx, true, sim.Progressed(2, 2)...); err != nil {
		t.Fatal(err)
	}
	tr, err := client.TektonV1().TaskRuns(ns).Get(ctx, run.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// What the dead leader recorded: every transition in the annotation,
	// the first step's in the journal.
	all, first := &checkpoint.Progress{}, &checkpoint.Progress{}
	for i, tn := range transitions.ForTaskRun(tr, time.Time{}) {
		all.Record(tn)
		if i < 2 {
			first.Record(tn)
		}
	}
	store := &checkpoint.Store{Client: metadata.NewForConfigOrDie(cp.Config), SourceUID: cfg.SourceUID}
	if err := store.Save(ctx, ns, run.Name, run.UID, all); err != nil {
		t.Fatal(err)
	}
	annotated := annotationOf(t, client, ns, run.Name, cfg.SourceUID)

	// The dead leader's Lease, unexpired for a few seconds more.
	if _, err := kube.CoordinationV1().Leases(ns).Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: adaptercontract.LeaseName(cfg.SourceName, 0, 1), Namespace: ns},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("dead"), LeaseDurationSeconds: ptr.To[int32](6),
			AcquireTime: &metav1.MicroTime{Time: time.Now()}, RenewTime: &metav1.MicroTime{Time: time.Now()}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	logs, observed := observer.New(zapcore.InfoLevel)
	adapter := startAdapter(t, cfg, sink.URL, nil, func(o *stepadapter.Options) {
		o.Logger = zap.New(zapcore.NewTee(zaptest.NewLogger(t).Core(), logs)).Sugar()
		o.LeaderElection = &leaderelection.ComponentConfig{Component: adaptercontract.Component, Buckets: 1, Identity: "next",
			LeaseDuration: 6 * time.Second, RenewDeadline: 4 * time.Second, RetryPeriod: 500 * time.Millisecond}
	})
	waitForLog(t, observed, "Watching TaskRuns")
	time.Sleep(time.Second) // the start-time pruning is done
	if observed.FilterMessage("Leading a bucket of TaskRuns").Len() != 0 {
		t.Fatal("promoted before the dead leader's Lease expired; the test cannot tell anything")
	}
	entry, err := checkpoint.EncodeEntry(checkpoint.Entry{TaskRun: types.NamespacedName{Namespace: ns, Name: run.Name}, Progress: first})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := journal(t, cfg).Write(ctx, map[types.UID]string{run.UID: entry}, nil); err != nil {
		t.Fatal(err)
	}

	waitForLog(t, observed, "Leading a bucket of TaskRuns")
	waitForJournal(t, cfg, run.Name, "") // the obsolete entry removed
	adapter.stop(t)                      // flushes what it has not recorded
	if got := annotationOf(t, client, ns, run.Name, cfg.SourceUID); got != annotated {
		t.Errorf("the annotation went from %s to %s", annotated, got)
	}
	if evs := sink.Events(); len(evs) != 0 {
		t.Errorf("%d events sent for a TaskRun whose events were all delivered", len(evs))
	}
}

func annotationOf(t *testing.T, client tektonclient.Interface, ns, name, sourceUID string) string {
	t.Helper()
	tr, err := client.TektonV1().TaskRuns(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Annotations[checkpoint.Key(sourceUID)]
}

func waitForLog(t *testing.T, observed *observer.ObservedLogs, message string) {
	t.Helper()
	for deadline := time.Now().Add(eventTimeout); observed.FilterMessage(message).Len() == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no log %q within %s", message, eventTimeout)
		}
	}
}
