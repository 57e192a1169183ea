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

package adapter

import (
	"context"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/go-cmp/cmp"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonfake "github.com/tektoncd/pipeline/pkg/client/clientset/versioned/fake"
	"go.opentelemetry.io/otel/metric/noop"
	"go.uber.org/zap/zaptest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	clientgotesting "k8s.io/client-go/testing"
	"knative.dev/pkg/leaderelection"
	"knative.dev/pkg/reconciler"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	sourcesfake "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned/fake"
)

// bucketedAdapter is an Adapter of one leader-elected bucket against fake
// clients, not started.
func bucketedAdapter(t *testing.T, kube *fake.Clientset, meta *metadatafake.FakeMetadataClient) *Adapter {
	t.Helper()
	ce, err := cloudevents.NewClientHTTP(cloudevents.WithTarget("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{
		Config:      &adaptercontract.Config{SourceUID: "src", SourceName: "steps", SourceNamespace: "ci", Namespaces: []string{"ci"}},
		CloudEvents: ce,
		Tekton:      tektonfake.NewSimpleClientset(),
		Kube:        kube,
		Metadata:    meta,
		Sources:     sourcesfake.NewSimpleClientset(),
		Logger:      zaptest.NewLogger(t).Sugar(),
		LeaderElection: &leaderelection.ComponentConfig{
			Component: adaptercontract.Component, Buckets: 1,
			LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second,
		},
		MeterProvider: noop.NewMeterProvider(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestPromotionReadsTheJournalFirst: a bucket's TaskRuns are not handled
// before the journal told how far the previous leader got (else its
// running TaskRuns' events would be sent again at every handover), and no
// longer once the bucket is lost.
func TestPromotionReadsTheJournalFirst(t *testing.T) {
	kube := fake.NewClientset()
	a := bucketedAdapter(t, kube, metadatafake.NewSimpleMetadataClient(runtime.NewScheme()))
	defer a.queue.ShutDown()
	key := types.NamespacedName{Namespace: "ci", Name: "build"}
	var ownedWhileReading []bool
	kube.PrependReactor("get", "configmaps", func(clientgotesting.Action) (bool, runtime.Object, error) {
		ownedWhileReading = append(ownedWhileReading, a.owns(key))
		return false, nil, nil
	})
	if a.owns(key) {
		t.Fatal("a TaskRun is handled before its bucket was won")
	}
	bucket := reconciler.UniversalBucket()
	if err := a.owner.Leader().Promote(bucket, func(reconciler.Bucket, types.NamespacedName) {}); err != nil {
		t.Fatal(err)
	}
	if len(ownedWhileReading) != 1 || ownedWhileReading[0] {
		t.Errorf("owned while the journal was read: %v, want one read, not owned yet", ownedWhileReading)
	}
	if !a.owns(key) {
		t.Error("not handled after promotion")
	}
	a.owner.Leader().Demote(bucket)
	if a.owns(key) {
		t.Error("still handled after demotion")
	}
}

// TestLettingGoWritesOnlyALedBucket: a bucket let go (or lost) has its
// TaskRuns' unrecorded progress written only if this replica led it in
// this term: a bucket still being acquired, or already let go, holds
// progress older than what its leader may have recorded since.
func TestLettingGoWritesOnlyALedBucket(t *testing.T) {
	kube := fake.NewClientset()
	meta := metadatafake.NewSimpleMetadataClient(runtime.NewScheme())
	a := bucketedAdapter(t, kube, meta)
	defer a.queue.ShutDown()
	bucket := reconciler.UniversalBucket()
	key := types.NamespacedName{Namespace: "ci", Name: "build"}
	record := func() {
		// A finished attempt delivered and not yet annotated.
		done := &checkpoint.Progress{}
		done.Record(transitions.Transition{Kind: transitions.Succeeded, StepState: pipelinev1.StepState{Name: "compile"}})
		a.ledger.delivered("tr-uid", key, done, time.Now())
		a.ledger.schedule("tr-uid", true, nil, time.Now())
	}
	patches := func() int {
		n := 0
		for _, action := range meta.Actions() {
			if action.GetVerb() == "patch" {
				n++
			}
		}
		return n
	}

	record()
	a.letGo(bucket) // never led
	if n := patches(); n != 0 {
		t.Errorf("%d annotation writes letting go of a bucket never led", n)
	}
	if err := a.owner.Leader().Promote(bucket, func(reconciler.Bucket, types.NamespacedName) {}); err != nil {
		t.Fatal(err)
	}
	a.letGo(bucket)
	if n := patches(); n != 1 {
		t.Errorf("%d annotation writes letting go of a led bucket, want 1", n)
	}
	record()
	a.letGo(bucket) // let go already
	if n := patches(); n != 1 {
		t.Errorf("%d annotation writes in all after letting go twice, want 1", n)
	}
}

// TestLettingGoKeepsTheJournalEntries: letting go of a bucket writes its
// running TaskRuns' progress also when the periodic journal write runs
// while the bucket's finished attempts are being annotated: that write no
// longer counts the bucket as this replica's and drops its entries from
// what is pending (without them the next leader would send their events
// again), and may find the journal full, so that what no longer fits goes
// to its annotation.
func TestLettingGoKeepsTheJournalEntries(t *testing.T) {
	tests := []struct {
		name string
		// full: the periodic write finds the journal full (other
		// replicas' entries).
		full        bool
		wantJournal []string
		wantPatched []string
	}{{
		name:        "room in the journal",
		wantJournal: []string{"running"},
		wantPatched: []string{"finished"},
	}, {
		name:        "the journal full meanwhile",
		full:        true,
		wantPatched: []string{"finished", "running"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kube := fake.NewClientset()
			meta := metadatafake.NewSimpleMetadataClient(runtime.NewScheme())
			a := bucketedAdapter(t, kube, meta)
			defer a.queue.ShutDown()
			ctx := context.Background()
			if _, err := kube.CoreV1().ConfigMaps("ci").Create(ctx, &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: adaptercontract.JournalName("src"), Namespace: "ci"}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			bucket := reconciler.UniversalBucket()
			if err := a.owner.Leader().Promote(bucket, func(reconciler.Bucket, types.NamespacedName) {}); err != nil {
				t.Fatal(err)
			}
			progress := func(kind transitions.Kind) *checkpoint.Progress {
				p := &checkpoint.Progress{}
				p.Record(transitions.Transition{Kind: kind, StepState: pipelinev1.StepState{Name: "compile"}})
				return p
			}
			finished, running := types.NamespacedName{Namespace: "ci", Name: "finished"}, types.NamespacedName{Namespace: "ci", Name: "running"}
			a.ledger.delivered("finished-uid", finished, progress(transitions.Succeeded), time.Now())
			a.ledger.schedule("finished-uid", true, nil, time.Now())
			a.ledger.delivered("running-uid", running, progress(transitions.Started), time.Now())
			a.ledger.schedule("running-uid", false, nil, time.Now())
			var patched []string
			// The periodic write, while the finished attempt is annotated.
			meta.PrependReactor("patch", "*", func(action clientgotesting.Action) (bool, runtime.Object, error) {
				patched = append(patched, action.(clientgotesting.PatchAction).GetName())
				if len(patched) > 1 {
					return false, nil, nil
				}
				if _, err := a.writeJournal(ctx, a.owns, nil); err != nil {
					t.Error(err)
				}
				if tc.full {
					// As a write's answer says when other replicas'
					// entries fill the journal.
					a.ledger.mu.Lock()
					a.ledger.journalBytes = a.ledger.journalMax
					a.ledger.mu.Unlock()
				}
				return false, nil, nil
			})

			a.letGo(bucket)
			entries, _, err := a.journal.Load(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.TaskRun.Name)
			}
			if diff := cmp.Diff(tc.wantJournal, names); diff != "" {
				t.Errorf("journal entries after letting go (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantPatched, patched); diff != "" {
				t.Errorf("annotations written (-want +got):\n%s", diff)
			}
		})
	}
}
