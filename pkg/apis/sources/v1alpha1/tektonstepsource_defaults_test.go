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

package v1alpha1

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

func TestTektonStepSourceDefaults(t *testing.T) {
	defaultMax := DefaultLogMaxBytes
	zero := int64(0)
	one, three := DefaultReplicas, int32(3)
	broker := func(ns string) duckv1.SourceSpec {
		return duckv1.SourceSpec{Sink: duckv1.Destination{Ref: &duckv1.KReference{
			APIVersion: "eventing.knative.dev/v1", Kind: "Broker", Name: "default", Namespace: ns,
		}}}
	}
	tests := []struct {
		name string
		in   TektonStepSourceSpec
		want TektonStepSourceSpec
	}{{
		name: "empty log and sink namespace",
		in:   TektonStepSourceSpec{SourceSpec: broker("")},
		want: TektonStepSourceSpec{SourceSpec: broker("ci"), Log: &LogSpec{MaxBytes: &defaultMax}, Replicas: &one},
	}, {
		name: "logs disabled, another sink namespace and replicas are kept",
		in:   TektonStepSourceSpec{SourceSpec: broker("events"), Log: &LogSpec{MaxBytes: &zero}, Replicas: &three},
		want: TektonStepSourceSpec{SourceSpec: broker("events"), Log: &LogSpec{MaxBytes: &zero}, Replicas: &three},
	}, {
		name: "a deletion guard gets the default deadline; the dead-letter sink the source's namespace",
		in: TektonStepSourceSpec{SourceSpec: broker("ci"), DeletionGuard: &DeletionGuardSpec{},
			Delivery: &eventingduckv1.DeliverySpec{DeadLetterSink: &duckv1.Destination{Ref: &duckv1.KReference{APIVersion: "v1", Kind: "Service", Name: "dls"}}}},
		want: TektonStepSourceSpec{SourceSpec: broker("ci"), Log: &LogSpec{MaxBytes: &defaultMax}, Replicas: &one,
			DeletionGuard: &DeletionGuardSpec{Deadline: &metav1.Duration{Duration: 10 * time.Minute}},
			Delivery:      &eventingduckv1.DeliverySpec{DeadLetterSink: &duckv1.Destination{Ref: &duckv1.KReference{APIVersion: "v1", Kind: "Service", Name: "dls", Namespace: "ci"}}}},
	}, {
		name: "empty log spec",
		in:   TektonStepSourceSpec{SourceSpec: broker("ci"), Log: &LogSpec{}},
		want: TektonStepSourceSpec{SourceSpec: broker("ci"), Log: &LogSpec{MaxBytes: &defaultMax}, Replicas: &one},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &TektonStepSource{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ci"}, Spec: tc.in}
			src.SetDefaults(context.Background())
			if diff := cmp.Diff(tc.want, src.Spec); diff != "" {
				t.Errorf("SetDefaults (-want +got):\n%s", diff)
			}
			// Defaulting is idempotent.
			again := src.DeepCopy()
			again.SetDefaults(context.Background())
			if diff := cmp.Diff(src, again); diff != "" {
				t.Errorf("second SetDefaults changed the object (-first +second):\n%s", diff)
			}
		})
	}
}
