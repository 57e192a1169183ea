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
	"slices"
	"testing"
	"time"

	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	"github.com/tektonstep/tekton-step-source/pkg/reconciler/guard"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// TestControllerReleasesGuardedTaskRuns: with no adapter running (there is
// no kubelet here), the controller releases what a deletion guard holds
// once nobody else will: a deleted TaskRun past its source's deadline, the
// TaskRuns of a source whose guard is turned off, of a deleted source, of
// a source that never existed; other parties' finalizers stay.
func TestControllerReleasesGuardedTaskRuns(t *testing.T) {
	grace := guard.Grace
	guard.Grace = 0
	t.Cleanup(func() { guard.Grace = grace })
	env := startController(t)
	ns := cp.NewNamespace(t)
	ctx := context.Background()
	client := tektonclient.NewForConfigOrDie(cp.Config)
	const other = "example.com/keep-me"

	src := env.createSource(t, ns, newSourceObject("guarded", duckv1.Destination{URI: apis.HTTP("display." + ns + ".svc.cluster.local")},
		func(s *v1alpha1.TektonStepSourceSpec) {
			s.DeletionGuard = &v1alpha1.DeletionGuardSpec{Deadline: &metav1.Duration{Duration: 2 * time.Second}}
		}))
	// TaskRuns as the source's adapter leaves them: with its finalizer.
	withFinalizers := func(name string, finalizers ...string) {
		sim.MustCreate(t, client, ns, name, nil, "a")
		tr, err := client.TektonV1().TaskRuns(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tr.Finalizers = finalizers
		if _, err := client.TektonV1().TaskRuns(ns).Update(ctx, tr, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	ours := adaptercontract.GuardFinalizer(string(src.UID))
	withFinalizers("deleted", ours, other)
	withFinalizers("running", ours)
	withFinalizers("orphan", adaptercontract.GuardFinalizer(string(uuid.NewUUID())))

	// The orphan goes at once; a running TaskRun of an existing source
	// stays the adapter's.
	waitForTaskRun(t, client, ns, "orphan", "its unknown source's finalizer removed", func(f []string, _, _ bool) bool { return len(f) == 0 })
	deletedAt := time.Now()
	if err := client.TektonV1().TaskRuns(ns).Delete(ctx, "deleted", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForTaskRun(t, client, ns, "deleted", "released past the deadline, the other finalizer kept", func(f []string, _, _ bool) bool {
		return !slices.Contains(f, ours) && slices.Contains(f, other)
	})
	if held := time.Since(deletedAt); held < 2*time.Second {
		t.Errorf("released %s after its deletion, before the 2s deadline", held)
	}
	tr, err := client.TektonV1().TaskRuns(ns).Get(ctx, "running", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(tr.Finalizers, ours) {
		t.Errorf("the controller released a running TaskRun of a guarded source: %v", tr.Finalizers)
	}

	// Another source's guard turned off: its TaskRuns are released.
	second := env.createSource(t, ns, newSourceObject("turned-off", duckv1.Destination{URI: apis.HTTP("display." + ns + ".svc.cluster.local")},
		func(s *v1alpha1.TektonStepSourceSpec) { s.DeletionGuard = &v1alpha1.DeletionGuardSpec{} }))
	secondFinalizer := adaptercontract.GuardFinalizer(string(second.UID))
	withFinalizers("second", secondFinalizer)
	time.Sleep(time.Second) // the controller has seen it, and kept it
	if tr, err := client.TektonV1().TaskRuns(ns).Get(ctx, "second", metav1.GetOptions{}); err != nil || !slices.Contains(tr.Finalizers, secondFinalizer) {
		t.Fatalf("a running TaskRun of a guarded source lost its finalizer (%v)", err)
	}
	env.updateSpec(t, ns, second.Name, func(s *v1alpha1.TektonStepSourceSpec) { s.DeletionGuard = nil })
	waitForTaskRun(t, client, ns, "second", "released when its source's guard is turned off", func(f []string, _, _ bool) bool {
		return !slices.Contains(f, secondFinalizer)
	})

	// The source deleted: its TaskRuns are released.
	if err := env.sources.SourcesV1alpha1().TektonStepSources(ns).Delete(ctx, src.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForTaskRun(t, client, ns, "running", "released with its source", func(f []string, _, _ bool) bool { return !slices.Contains(f, ours) })
}
