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
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// Validate implements apis.Validatable.
func (s *TektonStepSource) Validate(ctx context.Context) *apis.FieldError {
	return s.Spec.Validate(ctx).ViaField("spec")
}

// Validate checks the spec and returns every problem with its field path.
func (ss *TektonStepSourceSpec) Validate(ctx context.Context) *apis.FieldError {
	errs := ss.SourceSpec.Validate(ctx).Also(validateOverrides(ss.CloudEventOverrides))

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

	errs = errs.Also(validateHTTPDestination(&ss.Sink).ViaField("sink"))
	if !ss.IncludeSinkTriggeredRuns {
		errs = errs.Also(validateGuardedEventListener(ss.Sink.Ref).ViaField("sink", "ref"))
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

// UnusableCACerts tells whether CA certificates are given and no PEM
// certificate in them parses: with them no TLS connection to the sink
// could be verified, and every send would fail as if the network did.
// Validation refuses them in a spec; the controller in an addressable's
// status, which is its owner's.
func UnusableCACerts(caCerts *string) bool {
	return caCerts != nil && *caCerts != "" && !x509.NewCertPool().AppendCertsFromPEM([]byte(*caCerts))
}

// validateHTTPDestination checks that a destination's CA certificates
// parse and that its absolute URI is one the adapter can send to: the
// CloudEvents HTTP binding's, http or https.
// Any other scheme would fail every send, which is retried forever.
func validateHTTPDestination(d *duckv1.Destination) *apis.FieldError {
	if d == nil {
		return nil
	}
	var errs *apis.FieldError
	if UnusableCACerts(d.CACerts) {
		// Accepted, they would fail every TLS connection to the sink, each
		// retried as a network failure: refused here instead.
		errs = apis.ErrInvalidValue(fmt.Sprintf("<%d bytes without a PEM certificate>", len(*d.CACerts)), "CACerts",
			"the CA certificates that verify an https sink, PEM-encoded (-----BEGIN CERTIFICATE-----)")
	}
	if d.URI == nil || !d.URI.URL().IsAbs() || d.URI.Scheme == "http" || d.URI.Scheme == "https" {
		return errs
	}
	return errs.Also(apis.ErrInvalidValue(d.URI.String(), "uri", "events are sent over HTTP: the URI must be http:// or https://"))
}

// IsEventListener reports whether ref is a Tekton Triggers EventListener,
// which the recursion guard applies to.
func IsEventListener(ref *duckv1.KReference) bool {
	if ref == nil || ref.Kind != "EventListener" {
		return false
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	return err == nil && gv.Group == "triggers.tekton.dev"
}

// validateGuardedEventListener checks the reference to an EventListener
// sink that the recursion guard keeps the TaskRuns of: the guard selects
// them by the label triggers.tekton.dev/eventlistener=<name> in its
// namespace, so the name must be a label value and the namespace a
// namespace name, else the adapter refuses its configuration.
func validateGuardedEventListener(ref *duckv1.KReference) *apis.FieldError {
	if !IsEventListener(ref) {
		return nil
	}
	var errs *apis.FieldError
	for _, msg := range validation.IsValidLabelValue(ref.Name) {
		errs = errs.Also(apis.ErrInvalidValue(ref.Name, "name",
			msg+": the recursion guard selects the EventListener's TaskRuns by the label triggers.tekton.dev/eventlistener=<name> "+
				"(includeSinkTriggeredRuns turns the guard off)"))
	}
	if ref.Namespace != "" {
		for _, msg := range validation.IsDNS1123Label(ref.Namespace) {
			errs = errs.Also(apis.ErrInvalidValue(ref.Namespace, "namespace", msg))
		}
	}
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
		errs = errs.Also(r.Validate().ViaFieldIndex("replays", i))
		if seen[r.Name] {
			errs = errs.Also(apis.ErrGeneric("two replays named "+r.Name, "name").ViaFieldIndex("replays", i))
		}
		seen[r.Name] = true
	}
	return errs
}

// Validate checks one replay (spec.replays checks the list: how many, no
// name twice). The kn plugin checks the replay it adds with it, for the
// same messages as the controller's.
func (r *ReplaySpec) Validate() *apis.FieldError {
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
