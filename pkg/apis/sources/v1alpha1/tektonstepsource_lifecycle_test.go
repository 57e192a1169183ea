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
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

func deployment(available corev1.ConditionStatus, unavailable int32) *appsv1.Deployment {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "adapter"}}
	d.Status.UnavailableReplicas = unavailable
	if available != "" {
		d.Status.Conditions = []appsv1.DeploymentCondition{{
			Type: appsv1.DeploymentAvailable, Status: available, Reason: "R", Message: "M",
		}}
	}
	return d
}

func TestTektonStepSourceStatusConditions(t *testing.T) {
	sink := &duckv1.Addressable{URL: apis.HTTP("sink.ns.svc.cluster.local"), Audience: ptrTo("aud"), CACerts: ptrTo("certs")}
	tests := []struct {
		name string
		mark func(*TektonStepSourceStatus)
		// want maps each condition to its expected status; Ready is derived.
		want      map[apis.ConditionType]corev1.ConditionStatus
		wantReady bool
	}{{
		name: "initialized",
		mark: func(s *TektonStepSourceStatus) { s.InitializeConditions() },
		want: map[apis.ConditionType]corev1.ConditionStatus{
			TektonStepSourceConditionReady:                  corev1.ConditionUnknown,
			TektonStepSourceConditionSinkProvided:           corev1.ConditionUnknown,
			TektonStepSourceConditionDeployed:               corev1.ConditionUnknown,
			TektonStepSourceConditionSufficientPermissions:  corev1.ConditionUnknown,
			TektonStepSourceConditionDeadLetterSinkResolved: corev1.ConditionUnknown,
		},
	}, {
		name: "all true",
		mark: func(s *TektonStepSourceStatus) {
			s.InitializeConditions()
			s.MarkSink(sink)
			s.MarkDeadLetterSinkNotConfigured()
			s.PropagateDeploymentAvailability(deployment(corev1.ConditionTrue, 0))
			s.MarkSufficientPermissions()
			s.MarkOIDCIdentityCreatedSucceededWithReason("authentication-oidc feature disabled", "")
		},
		want: map[apis.ConditionType]corev1.ConditionStatus{
			TektonStepSourceConditionReady:                  corev1.ConditionTrue,
			TektonStepSourceConditionOIDCIdentityCreated:    corev1.ConditionTrue,
			TektonStepSourceConditionSinkProvided:           corev1.ConditionTrue,
			TektonStepSourceConditionDeployed:               corev1.ConditionTrue,
			TektonStepSourceConditionSufficientPermissions:  corev1.ConditionTrue,
			TektonStepSourceConditionDeadLetterSinkResolved: corev1.ConditionTrue,
		},
		wantReady: true,
	}, {
		name: "all true with a dead-letter sink",
		mark: func(s *TektonStepSourceStatus) {
			s.InitializeConditions()
			s.MarkSink(sink)
			s.MarkDeadLetterSink(sink)
			s.PropagateDeploymentAvailability(deployment(corev1.ConditionTrue, 0))
			s.MarkSufficientPermissions()
			s.MarkOIDCIdentityCreatedSucceeded()
		},
		want: map[apis.ConditionType]corev1.ConditionStatus{
			TektonStepSourceConditionReady:                  corev1.ConditionTrue,
			TektonStepSourceConditionDeadLetterSinkResolved: corev1.ConditionTrue,
		},
		wantReady: true,
	}, {
		name: "dead-letter sink not resolved",
		mark: func(s *TektonStepSourceStatus) {
			s.InitializeConditions()
			s.MarkSink(sink)
			s.MarkDeadLetterSinkFailed("NotFound", "no such service")
			s.PropagateDeploymentAvailability(deployment(corev1.ConditionTrue, 0))
			s.MarkSufficientPermissions()
		},
		want: map[apis.ConditionType]corev1.ConditionStatus{
			TektonStepSourceConditionReady:                  corev1.ConditionFalse,
			TektonStepSourceConditionDeadLetterSinkResolved: corev1.ConditionFalse,
		},
	}, {
		name: "dead-letter sink resolved to nothing",
		mark: func(s *TektonStepSourceStatus) { s.InitializeConditions(); s.MarkDeadLetterSink(&duckv1.Addressable{}) },
		want: map[apis.ConditionType]corev1.ConditionStatus{
			TektonStepSourceConditionDeadLetterSinkResolved: corev1.ConditionFalse,
		},
	}, {
		name: "sink lost after ready",
		mark: func(s *TektonStepSourceStatus) {
			s.InitializeConditions()
			s.MarkSink(sink)
			s.PropagateDeploymentAvailability(deployment(corev1.ConditionTrue, 0))
			s.MarkSufficientPermissions()
			s.MarkNoSink("NotFound", "gone")
		},
		want: map[apis.ConditionType]corev1.ConditionStatus{
			TektonStepSourceConditionReady:        corev1.ConditionFalse,
			TektonStepSourceConditionSinkProvided: corev1.ConditionFalse,
			TektonStepSourceConditionDeployed:     corev1.ConditionTrue,
		},
	}, {
		name: "sink resolved to nothing",
		mark: func(s *TektonStepSourceStatus) { s.InitializeConditions(); s.MarkSink(nil) },
		want: map[apis.ConditionType]corev1.ConditionStatus{
			TektonStepSourceConditionReady:        corev1.ConditionFalse,
			TektonStepSourceConditionSinkProvided: corev1.ConditionFalse,
		},
	}, {
		name: "insufficient permissions",
		mark: func(s *TektonStepSourceStatus) {
			s.InitializeConditions()
			s.MarkSink(sink)
			s.PropagateDeploymentAvailability(deployment(corev1.ConditionTrue, 0))
			s.MarkNoSufficientPermissions("InsufficientPermissions", "cannot get pods/log in %s", "ns")
		},
		want: map[apis.ConditionType]corev1.ConditionStatus{
			TektonStepSourceConditionReady:                 corev1.ConditionFalse,
			TektonStepSourceConditionSufficientPermissions: corev1.ConditionFalse,
		},
	}, {
		name: "deployment rolling out",
		mark: func(s *TektonStepSourceStatus) {
			s.InitializeConditions()
			s.MarkSink(sink)
			s.MarkSufficientPermissions()
			s.PropagateDeploymentAvailability(deployment(corev1.ConditionTrue, 1))
		},
		want: map[apis.ConditionType]corev1.ConditionStatus{
			TektonStepSourceConditionReady:    corev1.ConditionUnknown,
			TektonStepSourceConditionDeployed: corev1.ConditionUnknown,
		},
	}, {
		name: "deployment unavailable",
		mark: func(s *TektonStepSourceStatus) {
			s.InitializeConditions()
			s.PropagateDeploymentAvailability(deployment(corev1.ConditionFalse, 1))
		},
		want: map[apis.ConditionType]corev1.ConditionStatus{
			TektonStepSourceConditionReady:    corev1.ConditionFalse,
			TektonStepSourceConditionDeployed: corev1.ConditionFalse,
		},
	}, {
		name: "deployment without conditions",
		mark: func(s *TektonStepSourceStatus) {
			s.InitializeConditions()
			s.PropagateDeploymentAvailability(deployment("", 0))
		},
		want: map[apis.ConditionType]corev1.ConditionStatus{
			TektonStepSourceConditionDeployed: corev1.ConditionUnknown,
		},
	}, {
		name: "deployment could not be created",
		mark: func(s *TektonStepSourceStatus) {
			s.InitializeConditions()
			s.MarkNotDeployed("DeploymentFailed", "quota")
		},
		want: map[apis.ConditionType]corev1.ConditionStatus{
			TektonStepSourceConditionReady:    corev1.ConditionFalse,
			TektonStepSourceConditionDeployed: corev1.ConditionFalse,
		},
	}, {
		name: "OIDC identity not created",
		mark: func(s *TektonStepSourceStatus) {
			s.InitializeConditions()
			s.MarkSink(sink)
			s.MarkDeadLetterSinkNotConfigured()
			s.PropagateDeploymentAvailability(deployment(corev1.ConditionTrue, 0))
			s.MarkSufficientPermissions()
			s.MarkOIDCIdentityCreatedFailed("Unable to resolve service account for OIDC authentication", "not owned")
		},
		want: map[apis.ConditionType]corev1.ConditionStatus{
			TektonStepSourceConditionReady:               corev1.ConditionFalse,
			TektonStepSourceConditionOIDCIdentityCreated: corev1.ConditionFalse,
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &TektonStepSourceStatus{}
			tc.mark(s)
			for typ, want := range tc.want {
				got := s.GetCondition(typ)
				if got == nil || got.Status != want {
					t.Errorf("condition %s = %+v, want %s", typ, got, want)
				}
			}
			if got := s.IsReady(); got != tc.wantReady {
				t.Errorf("IsReady() = %v, want %v", got, tc.wantReady)
			}
			if top := s.GetTopLevelCondition(); top == nil || top.Type != TektonStepSourceConditionReady {
				t.Errorf("top-level condition = %+v, want Ready", top)
			}
		})
	}
}

func TestMarkSinkRecordsAddress(t *testing.T) {
	s := &TektonStepSourceStatus{}
	s.InitializeConditions()
	s.MarkSink(&duckv1.Addressable{URL: apis.HTTPS("sink.ns.svc"), CACerts: ptrTo("PEM"), Audience: ptrTo("aud")})
	if s.SinkURI.String() != "https://sink.ns.svc" || *s.SinkCACerts != "PEM" || *s.SinkAudience != "aud" {
		t.Errorf("sink = %v %v %v", s.SinkURI, s.SinkCACerts, s.SinkAudience)
	}
	// Losing the sink clears the old address: no stale URI stays in status.
	s.MarkSink(&duckv1.Addressable{})
	if s.SinkURI != nil || s.SinkCACerts != nil || s.SinkAudience != nil {
		t.Errorf("sink not cleared: %v %v %v", s.SinkURI, s.SinkCACerts, s.SinkAudience)
	}
}

func TestTektonStepSourceKRShaped(t *testing.T) {
	src := &TektonStepSource{}
	if got := src.GetGroupVersionKind().String(); got != "sources.knative.dev/v1alpha1, Kind=TektonStepSource" {
		t.Errorf("GVK = %s", got)
	}
	if src.GetConditionSet().GetTopLevelConditionType() != apis.ConditionReady {
		t.Error("the condition set is not a living set rooted at Ready")
	}
	src.Status.InitializeConditions()
	if len(src.GetStatus().Conditions) != 6 {
		t.Errorf("GetStatus().Conditions = %v, want 6 conditions", src.GetStatus().Conditions)
	}
}

// TestMarkDeadLetterSinkRecordsAddress: the resolved dead-letter sink is in
// Knative's status fields, and cleared when it is gone or not configured.
func TestMarkDeadLetterSinkRecordsAddress(t *testing.T) {
	s := &TektonStepSourceStatus{}
	s.InitializeConditions()
	s.MarkDeadLetterSink(&duckv1.Addressable{URL: apis.HTTPS("dls.ns.svc"), CACerts: ptrTo("PEM"), Audience: ptrTo("aud")})
	if s.DeadLetterSinkURI.String() != "https://dls.ns.svc" || *s.DeadLetterSinkCACerts != "PEM" || *s.DeadLetterSinkAudience != "aud" {
		t.Errorf("dead-letter sink = %+v", s.DeliveryStatus)
	}
	s.MarkDeadLetterSinkFailed("NotFound", "gone")
	if s.DeliveryStatus.IsSet() || s.DeadLetterSinkCACerts != nil || s.DeadLetterSinkAudience != nil {
		t.Errorf("not cleared on failure: %+v", s.DeliveryStatus)
	}
	s.MarkDeadLetterSink(&duckv1.Addressable{URL: apis.HTTPS("dls.ns.svc")})
	s.MarkDeadLetterSinkNotConfigured()
	if s.DeliveryStatus.IsSet() {
		t.Errorf("not cleared when not configured: %+v", s.DeliveryStatus)
	}
	if c := s.GetCondition(TektonStepSourceConditionDeadLetterSinkResolved); c == nil || c.Reason != "DeadLetterSinkNotConfigured" || !c.IsTrue() {
		t.Errorf("condition = %+v, want True with reason DeadLetterSinkNotConfigured", c)
	}
}

func ptrTo(s string) *string { return &s }
