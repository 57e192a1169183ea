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
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

const (
	// TektonStepSourceConditionReady is True when the source is ready to send events.
	TektonStepSourceConditionReady = apis.ConditionReady

	// TektonStepSourceConditionSinkProvided is True when the sink resolved to an address.
	TektonStepSourceConditionSinkProvided apis.ConditionType = "SinkProvided"

	// TektonStepSourceConditionDeployed is True when the receive adapter Deployment is available.
	TektonStepSourceConditionDeployed apis.ConditionType = "Deployed"

	// TektonStepSourceConditionSufficientPermissions is True when the
	// adapter's service account may read TaskRuns, pods and pod logs in every
	// watched namespace.
	TektonStepSourceConditionSufficientPermissions apis.ConditionType = "SufficientPermissions"

	// TektonStepSourceConditionDeadLetterSinkResolved is True when
	// spec.delivery.deadLetterSink resolved to an address, or when there is
	// none (reason DeadLetterSinkNotConfigured), as on a Knative Trigger.
	TektonStepSourceConditionDeadLetterSinkResolved apis.ConditionType = "DeadLetterSinkResolved"

	// TektonStepSourceConditionOIDCIdentityCreated is True when the
	// source's OIDC ServiceAccount exists with Knative's
	// authentication-oidc feature on, or when the feature is off (reason
	// "authentication-oidc feature disabled"), as on ApiServerSource.
	TektonStepSourceConditionOIDCIdentityCreated apis.ConditionType = "OIDCIdentityCreated"
)

var condSet = apis.NewLivingConditionSet(
	TektonStepSourceConditionSinkProvided,
	TektonStepSourceConditionDeployed,
	TektonStepSourceConditionSufficientPermissions,
	TektonStepSourceConditionDeadLetterSinkResolved,
	TektonStepSourceConditionOIDCIdentityCreated,
)

// GetConditionSet retrieves the condition set for this resource. Implements the KRShaped interface.
func (*TektonStepSource) GetConditionSet() apis.ConditionSet {
	return condSet
}

// GetGroupVersionKind returns the GroupVersionKind. Implements kmeta.OwnerRefable.
func (*TektonStepSource) GetGroupVersionKind() schema.GroupVersionKind {
	return SchemeGroupVersion.WithKind("TektonStepSource")
}

// GetCondition returns the condition of the given type, if any.
func (s *TektonStepSourceStatus) GetCondition(t apis.ConditionType) *apis.Condition {
	return condSet.Manage(s).GetCondition(t)
}

// GetTopLevelCondition returns the Ready condition.
func (s *TektonStepSourceStatus) GetTopLevelCondition() *apis.Condition {
	return condSet.Manage(s).GetTopLevelCondition()
}

// InitializeConditions sets every unset condition to Unknown.
func (s *TektonStepSourceStatus) InitializeConditions() {
	condSet.Manage(s).InitializeConditions()
}

// IsReady returns true when every sub-condition is True.
func (s *TektonStepSourceStatus) IsReady() bool {
	return condSet.Manage(s).IsHappy()
}

// MarkSink records the resolved sink address (URL, CA certificates and
// audience) and marks SinkProvided True; a nil or URL-less address marks it
// False.
func (s *TektonStepSourceStatus) MarkSink(addr *duckv1.Addressable) {
	if addr == nil || addr.URL == nil || addr.URL.IsEmpty() {
		s.SinkURI, s.SinkCACerts, s.SinkAudience = nil, nil, nil
		condSet.Manage(s).MarkFalse(TektonStepSourceConditionSinkProvided, "SinkEmpty", "Sink has resolved to empty.")
		return
	}
	s.SinkURI = addr.URL
	s.SinkCACerts = addr.CACerts
	s.SinkAudience = addr.Audience
	condSet.Manage(s).MarkTrue(TektonStepSourceConditionSinkProvided)
}

// MarkNoSink marks SinkProvided False with the given reason and message.
func (s *TektonStepSourceStatus) MarkNoSink(reason, messageFormat string, messageA ...interface{}) {
	condSet.Manage(s).MarkFalse(TektonStepSourceConditionSinkProvided, reason, messageFormat, messageA...)
}

// PropagateDeploymentAvailability sets Deployed from the Deployment's
// Available condition. A Deployment in the middle of a rollout (with
// unavailable replicas) is Unknown, not True.
func (s *TektonStepSourceStatus) PropagateDeploymentAvailability(d *appsv1.Deployment) {
	for _, cond := range d.Status.Conditions {
		if cond.Type != appsv1.DeploymentAvailable {
			continue
		}
		switch cond.Status {
		case corev1.ConditionTrue:
			if d.Status.UnavailableReplicas == 0 {
				condSet.Manage(s).MarkTrue(TektonStepSourceConditionDeployed)
			} else {
				condSet.Manage(s).MarkUnknown(TektonStepSourceConditionDeployed, "DeploymentUpdating",
					"Deployment %q has %d unavailable replica(s).", d.Name, d.Status.UnavailableReplicas)
			}
		case corev1.ConditionFalse:
			condSet.Manage(s).MarkFalse(TektonStepSourceConditionDeployed, cond.Reason, cond.Message)
		default:
			condSet.Manage(s).MarkUnknown(TektonStepSourceConditionDeployed, cond.Reason, cond.Message)
		}
		return
	}
	condSet.Manage(s).MarkUnknown(TektonStepSourceConditionDeployed, "DeploymentUnavailable",
		"The Deployment %q is unavailable.", d.Name)
}

// MarkNotDeployed marks Deployed False, e.g. when the Deployment could not be created.
func (s *TektonStepSourceStatus) MarkNotDeployed(reason, messageFormat string, messageA ...interface{}) {
	condSet.Manage(s).MarkFalse(TektonStepSourceConditionDeployed, reason, messageFormat, messageA...)
}

// MarkSufficientPermissions marks SufficientPermissions True.
func (s *TektonStepSourceStatus) MarkSufficientPermissions() {
	condSet.Manage(s).MarkTrue(TektonStepSourceConditionSufficientPermissions)
}

// MarkNoSufficientPermissions marks SufficientPermissions False with the given reason and message.
func (s *TektonStepSourceStatus) MarkNoSufficientPermissions(reason, messageFormat string, messageA ...interface{}) {
	condSet.Manage(s).MarkFalse(TektonStepSourceConditionSufficientPermissions, reason, messageFormat, messageA...)
}

// MarkDeadLetterSink records the resolved dead-letter sink (URL, CA
// certificates and audience) and marks DeadLetterSinkResolved True.
func (s *TektonStepSourceStatus) MarkDeadLetterSink(addr *duckv1.Addressable) {
	if addr == nil || addr.URL == nil || addr.URL.IsEmpty() {
		s.MarkDeadLetterSinkFailed("DeadLetterSinkEmpty", "The dead-letter sink has resolved to empty.")
		return
	}
	s.DeliveryStatus = eventingduckv1.NewDeliveryStatusFromAddressable(addr)
	condSet.Manage(s).MarkTrue(TektonStepSourceConditionDeadLetterSinkResolved)
}

// MarkDeadLetterSinkNotConfigured clears the dead-letter sink and marks
// DeadLetterSinkResolved True with reason DeadLetterSinkNotConfigured.
func (s *TektonStepSourceStatus) MarkDeadLetterSinkNotConfigured() {
	s.DeliveryStatus = eventingduckv1.DeliveryStatus{}
	condSet.Manage(s).MarkTrueWithReason(TektonStepSourceConditionDeadLetterSinkResolved,
		"DeadLetterSinkNotConfigured", "No dead-letter sink is configured.")
}

// MarkDeadLetterSinkFailed clears the dead-letter sink and marks
// DeadLetterSinkResolved False with the given reason and message.
func (s *TektonStepSourceStatus) MarkDeadLetterSinkFailed(reason, messageFormat string, messageA ...interface{}) {
	s.DeliveryStatus = eventingduckv1.DeliveryStatus{}
	condSet.Manage(s).MarkFalse(TektonStepSourceConditionDeadLetterSinkResolved, reason, messageFormat, messageA...)
}

// MarkOIDCIdentityCreatedSucceeded marks OIDCIdentityCreated True.
// (With the two methods below, auth.OIDCIdentityStatusMarker.)
func (s *TektonStepSourceStatus) MarkOIDCIdentityCreatedSucceeded() {
	condSet.Manage(s).MarkTrue(TektonStepSourceConditionOIDCIdentityCreated)
}

// MarkOIDCIdentityCreatedSucceededWithReason marks OIDCIdentityCreated
// True with a reason, e.g. that the feature is off.
func (s *TektonStepSourceStatus) MarkOIDCIdentityCreatedSucceededWithReason(reason, messageFormat string, messageA ...interface{}) {
	condSet.Manage(s).MarkTrueWithReason(TektonStepSourceConditionOIDCIdentityCreated, reason, messageFormat, messageA...)
}

// MarkOIDCIdentityCreatedFailed marks OIDCIdentityCreated False.
func (s *TektonStepSourceStatus) MarkOIDCIdentityCreatedFailed(reason, messageFormat string, messageA ...interface{}) {
	condSet.Manage(s).MarkFalse(TektonStepSourceConditionOIDCIdentityCreated, reason, messageFormat, messageA...)
}
