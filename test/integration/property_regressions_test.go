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
	"strings"

	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// propertyRegressions are specs that broke the property once, each with
// the outcome it has now.
var propertyRegressions = []struct {
	name string
	spec v1alpha1.TektonStepSourceSpec
	want string
}{{
	name: "issue 34: a bare string attribute as the CESQL filter",
	spec: propertySpec(func(s *v1alpha1.TektonStepSourceSpec) { s.Filters = cesqlFilter("tektonstep") }),
	want: refusedByGo,
}, {
	name: "issue 34: an integer literal as the CESQL filter",
	spec: propertySpec(func(s *v1alpha1.TektonStepSourceSpec) { s.Filters = cesqlFilter("1") }),
	want: refusedByGo,
}, {
	name: "issue 34: a string literal as the CESQL filter",
	spec: propertySpec(func(s *v1alpha1.TektonStepSourceSpec) { s.Filters = cesqlFilter("'x'") }),
	want: refusedByGo,
}, {
	name: "issue 34: a ceOverrides value ending with a newline",
	spec: propertySpec(func(s *v1alpha1.TektonStepSourceSpec) {
		s.CloudEventOverrides = &duckv1.CloudEventOverrides{Extensions: map[string]string{"env": "prod\n"}}
	}),
	want: refusedByBoth,
}, {
	// Seed 30: the adapter refused the recursion guard's label selector
	// (K_SOURCE_CONFIG: excludeEventListener.name ... must be no more than
	// 63 bytes) and exited.
	name: "an EventListener sink whose name is no label value",
	spec: propertySpec(func(s *v1alpha1.TektonStepSourceSpec) {
		s.Sink = duckv1.Destination{Ref: &duckv1.KReference{APIVersion: "triggers.tekton.dev/v1beta1", Kind: "EventListener",
			Name: strings.Repeat("l", 253), Namespace: "other"}, URI: mustURL("/path?x=1")}
	}),
	want: refusedByGo,
}, {
	// Seed 255: Knative's not filter of an empty filter panics in Cleanup,
	// which the adapter calls when it stops.
	name: "an empty filter inside not",
	spec: propertySpec(func(s *v1alpha1.TektonStepSourceSpec) {
		s.Filters = []eventingv1.SubscriptionsAPIFilter{{Not: &eventingv1.SubscriptionsAPIFilter{}}}
	}),
	want: refusedByGo,
}, {
	// Seed 389: every send fails (unsupported protocol scheme "ftp") and is
	// retried forever.
	name: "a sink URI that is not HTTP",
	spec: propertySpec(func(s *v1alpha1.TektonStepSourceSpec) { s.Sink.URI = mustURL("ftp://x/") }),
	want: refusedByBoth,
}, {
	// Seed 2220: Knative's duration parser read PT999999999H as a
	// negative duration, which passed the timeout's bound.
	name: "a timeout too long for the duration parser",
	spec: propertySpec(func(s *v1alpha1.TektonStepSourceSpec) {
		s.Delivery = &eventingduckv1.DeliverySpec{Timeout: ptrTo("PT999999999H"), RetryAfterMax: ptrTo("PT9999999999S")}
	}),
	want: refusedByGo,
}, {
	// Receivers trim the header the binary binding sends it in.
	name: "a ceOverrides value with a leading space",
	spec: propertySpec(func(s *v1alpha1.TektonStepSourceSpec) {
		s.CloudEventOverrides = &duckv1.CloudEventOverrides{Extensions: map[string]string{"env": " prod"}}
	}),
	want: refusedByBoth,
}, {
	// CESQL's lexer skipped the é, so the filter was tektonstep = 'x'.
	name: "a CESQL character the lexer skips",
	spec: propertySpec(func(s *v1alpha1.TektonStepSourceSpec) { s.Filters = cesqlFilter("tektonstep = 'x' é") }),
	want: refusedByGo,
}, {
	name: "a filter that matches the event, overrides in Unicode and structured mode",
	spec: propertySpec(func(s *v1alpha1.TektonStepSourceSpec) {
		s.Filters = cesqlFilter("EXISTS tektonstep AND tektonattempt >= 0")
		s.CloudEventOverrides = &duckv1.CloudEventOverrides{Extensions: map[string]string{"region": "Zürich – Ost 🚀", "empty": ""}}
		s.Delivery = &eventingduckv1.DeliverySpec{Format: ptrTo(eventingduckv1.DeliveryFormatJson)}
	}),
	want: delivered,
}, {
	name: "a filter that matches no event",
	spec: propertySpec(func(s *v1alpha1.TektonStepSourceSpec) { s.Filters = cesqlFilter("tektonattempt < 0") }),
	want: filteredOut,
}}

func propertySpec(edit func(*v1alpha1.TektonStepSourceSpec)) v1alpha1.TektonStepSourceSpec {
	s := v1alpha1.TektonStepSourceSpec{SourceSpec: duckv1.SourceSpec{Sink: duckv1.Destination{URI: apis.HTTP("sink.example.svc")}}}
	edit(&s)
	return s
}

func cesqlFilter(expr string) []eventingv1.SubscriptionsAPIFilter {
	return []eventingv1.SubscriptionsAPIFilter{{CESQL: expr}}
}
