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

package resources

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/ptr"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// TestDeliveryConfig: spec.delivery reaches the adapter with the
// dead-letter sink as its resolved address (never the reference), and
// its timeout as K_SINK_TIMEOUT in whole seconds, rounded up.
func TestDeliveryConfig(t *testing.T) {
	ca, aud := "PEM", "dls-audience"
	ref := &duckv1.Destination{Ref: &duckv1.KReference{APIVersion: "v1", Kind: "Service", Name: "dls", Namespace: "ci"}}
	resolved := eventingduckv1.DeliveryStatus{DeadLetterSinkURI: apis.HTTPS("dls.ci.svc"), DeadLetterSinkCACerts: &ca, DeadLetterSinkAudience: &aud}
	tests := []struct {
		name        string
		delivery    *eventingduckv1.DeliverySpec
		status      eventingduckv1.DeliveryStatus
		want        *eventingduckv1.DeliverySpec
		wantTimeout string
		wantErr     bool
	}{{
		name:        "no delivery: the default timeout",
		wantTimeout: "30",
	}, {
		name:        "timeout rounded up; no dead-letter sink",
		delivery:    &eventingduckv1.DeliverySpec{Timeout: ptr.String("PT2.5S"), Retry: ptr.Int32(4)},
		want:        &eventingduckv1.DeliverySpec{Timeout: ptr.String("PT2.5S"), Retry: ptr.Int32(4)},
		wantTimeout: "3",
	}, {
		name:     "dead-letter sink: its resolved address",
		delivery: &eventingduckv1.DeliverySpec{DeadLetterSink: ref, BackoffDelay: ptr.String("PT1S")},
		status:   resolved,
		want: &eventingduckv1.DeliverySpec{BackoffDelay: ptr.String("PT1S"),
			DeadLetterSink: &duckv1.Destination{URI: apis.HTTPS("dls.ci.svc"), CACerts: &ca, Audience: &aud}},
		wantTimeout: "30",
	}, {
		name:     "dead-letter sink not resolved: no adapter",
		delivery: &eventingduckv1.DeliverySpec{DeadLetterSink: ref},
		wantErr:  true,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := source()
			src.Spec.Delivery = tc.delivery
			src.Status.DeliveryStatus = tc.status
			d, err := MakeReceiveAdapter(&ReceiveAdapterArgs{
				Image: "img", Source: src, ServiceAccountName: "sa",
				Sink: &duckv1.Addressable{URL: apis.HTTP("sink.ci.svc")}, Namespaces: []string{"ci"},
			})
			if tc.wantErr {
				if err == nil {
					t.Fatal("an adapter was built with an unresolved dead-letter sink")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			env := map[string]string{}
			for _, e := range d.Spec.Template.Spec.Containers[0].Env {
				env[e.Name] = e.Value
			}
			if env["K_SINK_TIMEOUT"] != tc.wantTimeout {
				t.Errorf("K_SINK_TIMEOUT = %q, want %q", env["K_SINK_TIMEOUT"], tc.wantTimeout)
			}
			cfg, err := adaptercontract.Decode(env[adaptercontract.EnvName])
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, cfg.Delivery); diff != "" {
				t.Errorf("delivery in %s (-want +got):\n%s", adaptercontract.EnvName, diff)
			}
		})
	}
}

// TestGuardConfig: spec.deletionGuard reaches the adapter as its deadline
// (the default when unset); without it, no guard.
func TestGuardConfig(t *testing.T) {
	for _, tc := range []struct {
		guard *v1alpha1.DeletionGuardSpec
		want  time.Duration
	}{
		{nil, 0},
		{&v1alpha1.DeletionGuardSpec{}, v1alpha1.DefaultGuardDeadline},
		{&v1alpha1.DeletionGuardSpec{Deadline: &metav1.Duration{Duration: time.Hour}}, time.Hour},
	} {
		src := source()
		src.Spec.DeletionGuard = tc.guard
		cfg, err := MakeSourceConfig(src, []string{"ci"}, false)
		if err != nil {
			t.Fatal(err)
		}
		var got time.Duration
		if cfg.GuardDeadline != nil {
			got = cfg.GuardDeadline.Duration
		}
		if got != tc.want {
			t.Errorf("deletionGuard %+v: guardDeadline %s, want %s", tc.guard, got, tc.want)
		}
	}
}
