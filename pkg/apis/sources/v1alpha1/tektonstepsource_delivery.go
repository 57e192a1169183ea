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
	"math"
	"regexp"
	"strconv"

	"github.com/rickb777/date/period"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	"knative.dev/eventing/pkg/apis/feature"
	"knative.dev/pkg/apis"
)

// validateDelivery applies Knative's DeliverySpec validation with timeout
// and retryAfterMax allowed: Knative gates them behind the
// delivery-timeout and delivery-retryafter feature flags of its own
// config-features ConfigMap, which this source's users need not run. It
// also checks that the durations mean to the adapter what they say (see
// checkDuration).
func validateDelivery(ctx context.Context, d *eventingduckv1.DeliverySpec) *apis.FieldError {
	if d == nil {
		return nil
	}
	ctx = feature.ToContext(ctx, feature.Flags{
		feature.DeliveryTimeout:    feature.Enabled,
		feature.DeliveryRetryAfter: feature.Enabled,
	})
	errs := d.Validate(ctx).Also(validateHTTPDestination(d.DeadLetterSink).ViaField("deadLetterSink"))
	if d.Timeout != nil {
		if t, err := period.Parse(*d.Timeout); err == nil && (t.IsNegative() || t.DurationApprox() > MaxDeliveryTimeout) {
			errs = errs.Also(apis.ErrOutOfBoundsValue(*d.Timeout, "PT0S", MaxDeliveryTimeout.String(), "timeout"))
		}
	}
	return errs.Also(
		checkDuration(d.Timeout, "timeout"),
		checkDuration(d.BackoffDelay, "backoffDelay"),
		checkDuration(d.RetryAfterMax, "retryAfterMax"),
	)
}

// isoDurationParts splits an ISO 8601 duration as the CRD's pattern takes
// it: years, months, weeks, days, hours, minutes, seconds.
var isoDurationParts = regexp.MustCompile(`^(-)?P(?:([0-9.]+)Y)?(?:([0-9.]+)M)?(?:([0-9.]+)W)?(?:([0-9.]+)D)?` +
	`(?:T(?:([0-9.]+)H)?(?:([0-9.]+)M)?(?:([0-9.]+)S)?)?$`)

// isoUnitSeconds are the lengths of those units, years and months as the
// period parser approximates them (365.2425 days, a twelfth of that).
var isoUnitSeconds = []float64{365.2425 * 86400, 365.2425 * 86400 / 12, 7 * 86400, 86400, 3600, 60, 1}

// checkDuration refuses a duration that Knative's parser (which the adapter
// reads spec.delivery with) reads as another: its fields wrap around past
// 3276.7 and its durations past about 292 years, so P3277Y is read as a
// negative period and P300Y as a negative duration. A negative
// backoffDelay, which Knative lets through, is refused as the CRD does.
func checkDuration(value *string, field string) *apis.FieldError {
	if value == nil {
		return nil
	}
	p, err := period.Parse(*value)
	m := isoDurationParts.FindStringSubmatch(*value)
	if err != nil || m == nil {
		// Knative's validation reports what does not parse.
		return nil
	}
	want := 0.0
	for i, part := range m[2:] {
		if part != "" {
			n, err := strconv.ParseFloat(part, 64)
			if err != nil {
				return nil
			}
			want += n * isoUnitSeconds[i]
		}
	}
	if m[1] != "" {
		if field == "backoffDelay" {
			return apis.ErrInvalidValue(*value, field, "must not be negative")
		}
		want = -want
	}
	// Knative's parser keeps a tenth of each field, so small differences are
	// rounding.
	if got := p.DurationApprox(); math.Abs(got.Seconds()-want) > math.Max(0.1, math.Abs(want)*1e-3) {
		return apis.ErrInvalidValue(*value, field, "out of range: the adapter would read it as "+got.String())
	}
	return nil
}
