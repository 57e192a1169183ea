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
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/ptr"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// TestControllerDeadLetterSink follows spec.delivery with a Broker as the
// dead-letter sink, on the real apiserver with Knative's CRDs: missing,
// DeadLetterSinkResolved=False and no adapter; once it exists, its address
// in status.deadLetterSinkUri and in the adapter's configuration (with the
// rest of spec.delivery, and delivery.timeout as K_SINK_TIMEOUT); its
// address change rolls the adapter; without delivery the status is
// cleared.
func TestControllerDeadLetterSink(t *testing.T) {
	env := startController(t)
	ns := cp.NewNamespace(t)
	ctx := context.Background()
	delivery := &eventingduckv1.DeliverySpec{
		DeadLetterSink: &duckv1.Destination{Ref: &duckv1.KReference{APIVersion: "eventing.knative.dev/v1", Kind: "Broker", Name: "dlq"}},
		Retry:          ptr.Int32(3),
		Timeout:        ptr.String("PT4.2S"),
	}
	src := env.createSource(t, ns, newSourceObject("with-dls", duckv1.Destination{URI: apis.HTTP("display." + ns + ".svc.cluster.local")},
		func(s *v1alpha1.TektonStepSourceSpec) { s.Delivery = delivery }))
	got := env.waitForSource(t, ns, src.Name, "DeadLetterSinkResolved=False/NotFound", func(s *v1alpha1.TektonStepSource) bool {
		return conditionIs(s, v1alpha1.TektonStepSourceConditionDeadLetterSinkResolved, corev1.ConditionFalse, "NotFound")
	})
	if msg := got.Status.GetCondition(v1alpha1.TektonStepSourceConditionDeadLetterSinkResolved).Message; !strings.Contains(msg, `brokers.eventing.knative.dev "dlq" not found`) {
		t.Errorf("DeadLetterSinkResolved message %q does not say the Broker is missing", msg)
	}
	if !conditionIs(got, v1alpha1.TektonStepSourceConditionReady, corev1.ConditionFalse, "NotFound") {
		t.Errorf("Ready = %+v, want False while the dead-letter sink is missing", got.Status.GetCondition(v1alpha1.TektonStepSourceConditionReady))
	}
	env.waitForEvent(t, ns, src.Name, corev1.EventTypeWarning, "DeadLetterSinkNotFound")
	if _, err := env.kube.AppsV1().Deployments(ns).Get(ctx, "with-dls-tektonstep-adapter", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("an adapter was deployed without its dead-letter sink (err %v)", err)
	}

	url := "http://broker-ingress.knative-eventing.svc.cluster.local/" + ns + "/dlq"
	env.createAddressable(t, brokerGVR, "Broker", ns, "dlq", url)
	got = env.waitForSource(t, ns, src.Name, "DeadLetterSinkResolved=True", func(s *v1alpha1.TektonStepSource) bool {
		return conditionIs(s, v1alpha1.TektonStepSourceConditionDeadLetterSinkResolved, corev1.ConditionTrue, "")
	})
	if got.Status.DeadLetterSinkURI.String() != url {
		t.Errorf("deadLetterSinkUri = %s, want %s", got.Status.DeadLetterSinkURI, url)
	}
	d := env.waitForDeployment(t, ns, "with-dls-tektonstep-adapter", "creation", func(*appsv1.Deployment) bool { return true })
	cfg, err := adaptercontract.Decode(envOf(d)[adaptercontract.EnvName])
	if err != nil {
		t.Fatal(err)
	}
	want := &eventingduckv1.DeliverySpec{DeadLetterSink: &duckv1.Destination{URI: apis.HTTP("broker-ingress.knative-eventing.svc.cluster.local")},
		Retry: ptr.Int32(3), Timeout: ptr.String("PT4.2S")}
	want.DeadLetterSink.URI.Path = "/" + ns + "/dlq"
	if diff := cmp.Diff(want, cfg.Delivery); diff != "" {
		t.Errorf("delivery in %s (-want +got):\n%s", adaptercontract.EnvName, diff)
	}
	if timeout := envOf(d)["K_SINK_TIMEOUT"]; timeout != "5" {
		t.Errorf("K_SINK_TIMEOUT = %q, want 5 (PT4.2S rounded up)", timeout)
	}

	// The dead-letter sink's address changes: the adapter follows.
	broker, err := env.dynamic.Resource(brokerGVR).Namespace(ns).Get(ctx, "dlq", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	newURL := "http://broker-ingress-2.knative-eventing.svc.cluster.local/" + ns + "/dlq"
	env.setAddress(t, brokerGVR, broker, newURL)
	env.waitForDeployment(t, ns, d.Name, "the new dead-letter sink", func(d *appsv1.Deployment) bool {
		cfg, err := adaptercontract.Decode(envOf(d)[adaptercontract.EnvName])
		return err == nil && cfg.Delivery != nil && cfg.Delivery.DeadLetterSink.URI.String() == newURL
	})

	// Without delivery: nothing configured, nothing in the status.
	env.updateSpec(t, ns, src.Name, func(s *v1alpha1.TektonStepSourceSpec) { s.Delivery = nil })
	got = env.waitForSource(t, ns, src.Name, "DeadLetterSinkResolved=True/DeadLetterSinkNotConfigured", func(s *v1alpha1.TektonStepSource) bool {
		return conditionIs(s, v1alpha1.TektonStepSourceConditionDeadLetterSinkResolved, corev1.ConditionTrue, "DeadLetterSinkNotConfigured")
	})
	if got.Status.DeliveryStatus.IsSet() {
		t.Errorf("status still has a dead-letter sink: %+v", got.Status.DeliveryStatus)
	}
	env.waitForDeployment(t, ns, d.Name, "no delivery", func(d *appsv1.Deployment) bool {
		cfg, err := adaptercontract.Decode(envOf(d)[adaptercontract.EnvName])
		return err == nil && cfg.Delivery == nil && envOf(d)["K_SINK_TIMEOUT"] == "30"
	})
}
