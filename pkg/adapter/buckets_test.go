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
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonfake "github.com/tektoncd/pipeline/pkg/client/clientset/versioned/fake"
	"go.opentelemetry.io/otel/metric/noop"
	"go.uber.org/zap/zaptest"
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
		a.progress.Delivered("tr-uid", key, done)
		tr := &pipelinev1.TaskRun{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name, UID: "tr-uid"}}
		tr.Status.CompletionTime = &metav1.Time{Time: time.Now()}
		a.progress.Record(tr, true)
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
