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
	tektonfake "github.com/tektoncd/pipeline/pkg/client/clientset/versioned/fake"
	"go.opentelemetry.io/otel/metric/noop"
	"go.uber.org/zap/zaptest"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	clientgotesting "k8s.io/client-go/testing"
	"knative.dev/pkg/leaderelection"
	"knative.dev/pkg/reconciler"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	sourcesfake "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned/fake"
)

// TestPromotionReadsTheJournalFirst: a bucket's TaskRuns are not handled
// before the journal told how far the previous leader got (else its
// running TaskRuns' events would be sent again at every handover), and no
// longer once the bucket is lost.
func TestPromotionReadsTheJournalFirst(t *testing.T) {
	kube := fake.NewClientset()
	ce, err := cloudevents.NewClientHTTP(cloudevents.WithTarget("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{
		Config:      &adaptercontract.Config{SourceUID: "src", SourceName: "steps", SourceNamespace: "ci", Namespaces: []string{"ci"}},
		CloudEvents: ce,
		Tekton:      tektonfake.NewSimpleClientset(),
		Kube:        kube,
		Metadata:    metadatafake.NewSimpleMetadataClient(runtime.NewScheme()),
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
	if err := a.leader.Promote(bucket, func(reconciler.Bucket, types.NamespacedName) {}); err != nil {
		t.Fatal(err)
	}
	if len(ownedWhileReading) != 1 || ownedWhileReading[0] {
		t.Errorf("owned while the journal was read: %v, want one read, not owned yet", ownedWhileReading)
	}
	if !a.owns(key) {
		t.Error("not handled after promotion")
	}
	a.leader.Demote(bucket)
	if a.owns(key) {
		t.Error("still handled after demotion")
	}
}
