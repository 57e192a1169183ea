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
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rickb777/date/period"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/eventing/pkg/apis/feature"
	"knative.dev/pkg/apis"
)

// reservedAttributes are the CloudEvents context attributes (required and
// optional, CloudEvents 1.0) that each event sets itself, plus the extensions
// of the event contract that do not start with ExtensionPrefix (sequence,
// partitionkey, replay). ceOverrides may not replace them: an override
// would break event identity (id, source, type), order or the filtering
// contract.
var reservedAttributes = map[string]bool{
	"id": true, "source": true, "specversion": true, "type": true,
	"datacontenttype": true, "dataschema": true, "subject": true, "time": true,
	"data": true, "data_base64": true,
	"sequence": true, "partitionkey": true, "replay": true,
}

// ExtensionPrefix starts the name of every extension attribute of the event
// contract (tektontaskrun, tektonstep, ...).
const ExtensionPrefix = "tekton"

// Validate implements apis.Validatable.
func (s *TektonStepSource) Validate(ctx context.Context) *apis.FieldError {
	return s.Spec.Validate(ctx).ViaField("spec")
}

// Validate checks the spec and returns every problem with its field path.
func (ss *TektonStepSourceSpec) Validate(ctx context.Context) *apis.FieldError {
	errs := ss.SourceSpec.Validate(ctx)
	if ss.CloudEventOverrides != nil {
		for name := range ss.CloudEventOverrides.Extensions {
			lower := strings.ToLower(name)
			if reservedAttributes[lower] || strings.HasPrefix(lower, ExtensionPrefix) {
				errs = errs.Also(apis.ErrInvalidKeyName(name, "ceOverrides.extensions",
					"the attribute is set by the source and may not be overridden"))
			}
		}
	}

	if ss.ServiceAccountName != "" {
		for _, msg := range validation.IsDNS1123Subdomain(ss.ServiceAccountName) {
			errs = errs.Also(apis.ErrInvalidValue(ss.ServiceAccountName, "serviceAccountName", msg))
		}
	}

	if ss.NamespaceSelector != nil {
		errs = errs.Also(validateLabelSelector(ss.NamespaceSelector, "namespaceSelector"))
		if ss.ServiceAccountName == "" {
			errs = errs.Also(&apis.FieldError{
				Message: "namespaceSelector requires serviceAccountName",
				Paths:   []string{"serviceAccountName"},
				Details: "a source that watches other namespaces must run as a service account that may read them",
			})
		}
	}
	if ss.Selector != nil {
		errs = errs.Also(validateLabelSelector(ss.Selector, "selector"))
	}

	errs = errs.Also(validateFilters(ctx, ss.Filters).ViaField("filters"))
	errs = errs.Also(validateDelivery(ctx, ss.Delivery).ViaField("delivery"))

	if ss.Log != nil && ss.Log.MaxBytes != nil && (*ss.Log.MaxBytes < 0 || *ss.Log.MaxBytes > MaxLogMaxBytes) {
		errs = errs.Also(apis.ErrOutOfBoundsValue(*ss.Log.MaxBytes, 0, MaxLogMaxBytes, "log.maxBytes"))
	}
	if g := ss.DeletionGuard; g != nil && g.Deadline != nil && (g.Deadline.Duration < time.Second || g.Deadline.Duration > MaxGuardDeadline) {
		errs = errs.Also(apis.ErrOutOfBoundsValue(g.Deadline.Duration, "1s", MaxGuardDeadline, "deletionGuard.deadline"))
	}
	if ss.Replicas != nil && (*ss.Replicas < 1 || *ss.Replicas > MaxReplicas) {
		errs = errs.Also(apis.ErrOutOfBoundsValue(*ss.Replicas, 1, MaxReplicas, "replicas"))
	}
	errs = errs.Also(validateReplays(ss.Replays))
	return errs
}

// replayTypes are the values of spec.replays[].types.
var replayTypes = []string{"started", "succeeded", "failed", "skipped"}

func validateReplays(replays []ReplaySpec) *apis.FieldError {
	var errs *apis.FieldError
	if len(replays) > MaxReplays {
		errs = errs.Also(apis.ErrOutOfBoundsValue(len(replays), 0, MaxReplays, "replays"))
	}
	seen := map[string]bool{}
	for i, r := range replays {
		errs = errs.Also(r.validate().ViaFieldIndex("replays", i))
		if seen[r.Name] {
			errs = errs.Also(apis.ErrGeneric("two replays named "+r.Name, "name").ViaFieldIndex("replays", i))
		}
		seen[r.Name] = true
	}
	return errs
}

func (r *ReplaySpec) validate() *apis.FieldError {
	var errs *apis.FieldError
	if r.Name == "" {
		errs = errs.Also(apis.ErrMissingField("name"))
	}
	for _, msg := range validation.IsDNS1123Label(r.Name) {
		if r.Name != "" {
			errs = errs.Also(apis.ErrInvalidValue(r.Name, "name", msg))
		}
	}
	if len(r.Name) > MaxReplayNameLength {
		errs = errs.Also(apis.ErrInvalidValue(r.Name, "name", "at most 40 characters"))
	}
	if r.Since.IsZero() {
		errs = errs.Also(apis.ErrMissingField("since"))
	}
	if r.Until != nil && !r.Until.After(r.Since.Time) {
		errs = errs.Also(apis.ErrInvalidValue(r.Until.UTC().Format(time.RFC3339), "until", "must be after since"))
	}
	if r.TaskRun != "" {
		for _, msg := range validation.IsDNS1123Subdomain(r.TaskRun) {
			errs = errs.Also(apis.ErrInvalidValue(r.TaskRun, "taskRun", msg))
		}
	}
	for j, t := range r.Types {
		if !slices.Contains(replayTypes, t) {
			errs = errs.Also(&apis.FieldError{Message: "invalid value: " + t, Paths: []string{fmt.Sprintf("types[%d]", j)},
				Details: "must be one of " + strings.Join(replayTypes, ", ")})
		}
	}
	return errs
}

// validateDelivery applies Knative's DeliverySpec validation with timeout
// and retryAfterMax allowed: Knative gates them behind the
// delivery-timeout and delivery-retryafter feature flags of its own
// config-features ConfigMap, which this source's users need not run.
func validateDelivery(ctx context.Context, d *eventingduckv1.DeliverySpec) *apis.FieldError {
	if d == nil {
		return nil
	}
	ctx = feature.ToContext(ctx, feature.Flags{
		feature.DeliveryTimeout:    feature.Enabled,
		feature.DeliveryRetryAfter: feature.Enabled,
	})
	errs := d.Validate(ctx)
	if d.Timeout != nil {
		if t, err := period.Parse(*d.Timeout); err == nil && (t.IsNegative() || t.DurationApprox() > MaxDeliveryTimeout) {
			errs = errs.Also(apis.ErrOutOfBoundsValue(*d.Timeout, "PT0S", MaxDeliveryTimeout.String(), "timeout"))
		}
	}
	return errs
}

// validateFilters applies Knative's Trigger filter validation to each filter.
// It walks the tree itself only to keep a field path on the "multiple
// dialects" error, which Knative's ValidateSubscriptionAPIFilter reports
// without one.
func validateFilters(ctx context.Context, filters []eventingv1.SubscriptionsAPIFilter) *apis.FieldError {
	var errs *apis.FieldError
	for i := range filters {
		errs = errs.Also(validateFilter(ctx, &filters[i]).ViaIndex(i))
	}
	return errs
}

func validateFilter(ctx context.Context, f *eventingv1.SubscriptionsAPIFilter) *apis.FieldError {
	if f == nil {
		return nil
	}
	var errs *apis.FieldError
	if err := eventingv1.ValidateOneOf(f); err != nil {
		errs = apis.ErrGeneric(err.Message, apis.CurrentField)
	}
	return errs.Also(
		eventingv1.ValidateAttributesNames(f.Exact).ViaField("exact"),
		eventingv1.ValidateAttributesNames(f.Prefix).ViaField("prefix"),
		eventingv1.ValidateAttributesNames(f.Suffix).ViaField("suffix"),
		validateFilters(ctx, f.All).ViaField("all"),
		validateFilters(ctx, f.Any).ViaField("any"),
		validateFilter(ctx, f.Not).ViaField("not"),
		eventingv1.ValidateCESQLExpression(ctx, f.CESQL).ViaField("cesql"),
	)
}

// validateLabelSelector reuses apimachinery's label selector validation and
// reports its errors below fieldName.
func validateLabelSelector(sel *metav1.LabelSelector, fieldName string) *apis.FieldError {
	var errs *apis.FieldError
	opts := metav1validation.LabelSelectorValidationOptions{}
	for _, e := range metav1validation.ValidateLabelSelector(sel, opts, field.NewPath(fieldName)) {
		errs = errs.Also(&apis.FieldError{
			Message: e.ErrorBody(),
			Paths:   []string{e.Field},
		})
	}
	return errs
}
