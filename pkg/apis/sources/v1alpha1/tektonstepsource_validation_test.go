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
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/ptr"
)

func uriSink() duckv1.SourceSpec {
	return duckv1.SourceSpec{Sink: duckv1.Destination{URI: apis.HTTP("sink.example.svc")}}
}

// withFilters is a valid spec with the filters.
func withFilters(filters ...eventingv1.SubscriptionsAPIFilter) TektonStepSourceSpec {
	return TektonStepSourceSpec{SourceSpec: uriSink(), Filters: filters}
}

// withOverrides is a valid spec with the ceOverrides extensions.
func withOverrides(extensions map[string]string) TektonStepSourceSpec {
	spec := uriSink()
	spec.CloudEventOverrides = &duckv1.CloudEventOverrides{Extensions: extensions}
	return TektonStepSourceSpec{SourceSpec: spec}
}

func TestTektonStepSourceValidation(t *testing.T) {
	negative := int64(-1)
	zero := int64(0)
	overCap := MaxLogMaxBytes + 1
	replayFrom := metav1.NewTime(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	replayTo := metav1.NewTime(replayFrom.Add(time.Hour))
	linear, bogusPolicy := eventingduckv1.BackoffPolicyLinear, eventingduckv1.BackoffPolicyType("random")
	tests := []struct {
		name string
		spec TektonStepSourceSpec
		// wantPaths are the field paths the error must name; none means valid.
		wantPaths []string
		wantMsg   string
	}{{
		name: "uri sink",
		spec: TektonStepSourceSpec{SourceSpec: uriSink()},
	}, {
		name: "ref sink with filters, selectors and no logs",
		spec: TektonStepSourceSpec{
			SourceSpec: duckv1.SourceSpec{
				Sink:                duckv1.Destination{Ref: &duckv1.KReference{APIVersion: "eventing.knative.dev/v1", Kind: "Broker", Name: "default", Namespace: "ns"}},
				CloudEventOverrides: &duckv1.CloudEventOverrides{Extensions: map[string]string{"cluster": "dev"}},
			},
			ServiceAccountName: "watcher",
			NamespaceSelector:  &metav1.LabelSelector{MatchLabels: map[string]string{"ci": "true"}},
			Selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: "tekton.dev/pipeline", Operator: metav1.LabelSelectorOpExists,
			}}},
			Filters: []eventingv1.SubscriptionsAPIFilter{
				{Exact: map[string]string{"type": StepFailedEventType}},
				{Any: []eventingv1.SubscriptionsAPIFilter{{Prefix: map[string]string{"tektonstep": "deploy"}}, {CESQL: "tektonattempt > 0"}}},
			},
			Log:                      &LogSpec{MaxBytes: &zero},
			IncludeSinkTriggeredRuns: true,
			Replicas:                 ptr.Int32(3),
		},
	}, {
		name: "delivery as on a Trigger, with timeout and retryAfterMax (no feature flags needed)",
		spec: TektonStepSourceSpec{SourceSpec: uriSink(), Delivery: &eventingduckv1.DeliverySpec{
			DeadLetterSink: &duckv1.Destination{URI: apis.HTTP("dls.example.svc")},
			Retry:          ptr.Int32(5), BackoffPolicy: &linear, BackoffDelay: ptr.String("PT0.5S"),
			Timeout: ptr.String("PT10S"), RetryAfterMax: ptr.String("PT30S"),
		}},
	}, {
		name:      "delivery: negative retry",
		spec:      TektonStepSourceSpec{SourceSpec: uriSink(), Delivery: &eventingduckv1.DeliverySpec{Retry: ptr.Int32(-1)}},
		wantPaths: []string{"spec.delivery.retry"},
	}, {
		name:      "delivery: unknown backoff policy",
		spec:      TektonStepSourceSpec{SourceSpec: uriSink(), Delivery: &eventingduckv1.DeliverySpec{BackoffPolicy: &bogusPolicy}},
		wantPaths: []string{"spec.delivery.backoffPolicy"},
	}, {
		name:      "delivery: zero timeout",
		spec:      TektonStepSourceSpec{SourceSpec: uriSink(), Delivery: &eventingduckv1.DeliverySpec{Timeout: ptr.String("PT0S")}},
		wantPaths: []string{"spec.delivery.timeout"},
	}, {
		name:      "delivery: timeout over the bound",
		spec:      TektonStepSourceSpec{SourceSpec: uriSink(), Delivery: &eventingduckv1.DeliverySpec{Timeout: ptr.String("PT11M")}},
		wantPaths: []string{"spec.delivery.timeout"},
		wantMsg:   "expected PT0S <= PT11M <= 10m0s",
	}, {
		// Found by the property test: Knative's duration parser wraps
		// around, so P300Y was read as a negative duration and passed the
		// bound.
		name:      "delivery: a timeout too long for the duration parser",
		spec:      TektonStepSourceSpec{SourceSpec: uriSink(), Delivery: &eventingduckv1.DeliverySpec{Timeout: ptr.String("P300Y")}},
		wantPaths: []string{"spec.delivery.timeout"},
		wantMsg:   "invalid value: P300Y: spec.delivery.timeout\nout of range: the adapter would read it as -2494349h",
	}, {
		name: "delivery: a backoffDelay and a retryAfterMax too long for the duration parser",
		spec: TektonStepSourceSpec{SourceSpec: uriSink(), Delivery: &eventingduckv1.DeliverySpec{
			BackoffDelay: ptr.String("P3277Y"), RetryAfterMax: ptr.String("PT9999999999S")}},
		wantPaths: []string{"spec.delivery.backoffDelay", "spec.delivery.retryAfterMax"},
		wantMsg:   "out of range: the adapter would read it as",
	}, {
		name:      "delivery: a negative backoffDelay",
		spec:      TektonStepSourceSpec{SourceSpec: uriSink(), Delivery: &eventingduckv1.DeliverySpec{BackoffDelay: ptr.String("-PT1S")}},
		wantPaths: []string{"spec.delivery.backoffDelay"},
		wantMsg:   "must not be negative",
	}, {
		name: "delivery: durations of every unit, fractions included",
		spec: TektonStepSourceSpec{SourceSpec: uriSink(), Delivery: &eventingduckv1.DeliverySpec{
			BackoffDelay: ptr.String("P1Y2M1W3DT4H5M6.5S"), RetryAfterMax: ptr.String("P292Y"), Timeout: ptr.String("PT0.25S")}},
	}, {
		name:      "delivery: unparsable backoffDelay",
		spec:      TektonStepSourceSpec{SourceSpec: uriSink(), Delivery: &eventingduckv1.DeliverySpec{BackoffDelay: ptr.String("1s")}},
		wantPaths: []string{"spec.delivery.backoffDelay"},
	}, {
		name:      "delivery: empty dead-letter sink",
		spec:      TektonStepSourceSpec{SourceSpec: uriSink(), Delivery: &eventingduckv1.DeliverySpec{DeadLetterSink: &duckv1.Destination{}}},
		wantPaths: []string{"spec.delivery.deadLetterSink"},
	}, {
		name: "deletion guard with a deadline",
		spec: TektonStepSourceSpec{SourceSpec: uriSink(), DeletionGuard: &DeletionGuardSpec{Deadline: &metav1.Duration{Duration: time.Hour}}},
	}, {
		name:      "deletion guard with a zero deadline",
		spec:      TektonStepSourceSpec{SourceSpec: uriSink(), DeletionGuard: &DeletionGuardSpec{Deadline: &metav1.Duration{}}},
		wantPaths: []string{"spec.deletionGuard.deadline"},
	}, {
		name:      "deletion guard deadline over a day",
		spec:      TektonStepSourceSpec{SourceSpec: uriSink(), DeletionGuard: &DeletionGuardSpec{Deadline: &metav1.Duration{Duration: 25 * time.Hour}}},
		wantPaths: []string{"spec.deletionGuard.deadline"},
	}, {
		name:      "no sink",
		spec:      TektonStepSourceSpec{},
		wantPaths: []string{"spec.sink"},
		wantMsg:   "expected at least one, got none",
	}, {
		name: "ceOverrides replaces a required attribute",
		spec: TektonStepSourceSpec{SourceSpec: duckv1.SourceSpec{
			Sink:                uriSink().Sink,
			CloudEventOverrides: &duckv1.CloudEventOverrides{Extensions: map[string]string{"source": "/elsewhere"}},
		}},
		wantPaths: []string{"spec.ceOverrides.extensions"},
		wantMsg:   `invalid key name "source"`,
	}, {
		name: "ceOverrides replaces a contract extension",
		spec: TektonStepSourceSpec{SourceSpec: duckv1.SourceSpec{
			Sink:                uriSink().Sink,
			CloudEventOverrides: &duckv1.CloudEventOverrides{Extensions: map[string]string{"tektonstep": "x"}},
		}},
		wantPaths: []string{"spec.ceOverrides.extensions"},
		wantMsg:   `invalid key name "tektonstep"`,
	}, {
		name: "ceOverrides replaces the order or replay extensions",
		spec: TektonStepSourceSpec{SourceSpec: duckv1.SourceSpec{
			Sink:                uriSink().Sink,
			CloudEventOverrides: &duckv1.CloudEventOverrides{Extensions: map[string]string{"sequence": "0", "partitionkey": "x", "replay": "r"}},
		}},
		wantPaths: []string{"spec.ceOverrides.extensions"},
		wantMsg:   `invalid key name "partitionkey"`,
	}, {
		name: "ceOverrides with a non-alphanumeric name",
		spec: TektonStepSourceSpec{SourceSpec: duckv1.SourceSpec{
			Sink:                uriSink().Sink,
			CloudEventOverrides: &duckv1.CloudEventOverrides{Extensions: map[string]string{"my-ext": "x"}},
		}},
		wantPaths: []string{"spec.ceOverrides.extensions"},
		wantMsg:   "alphanumeric",
	}, {
		name: "namespaceSelector without serviceAccountName",
		spec: TektonStepSourceSpec{
			SourceSpec:        uriSink(),
			NamespaceSelector: &metav1.LabelSelector{},
		},
		wantPaths: []string{"spec.serviceAccountName"},
		wantMsg:   "namespaceSelector requires serviceAccountName",
	}, {
		name: "invalid serviceAccountName",
		spec: TektonStepSourceSpec{
			SourceSpec:         uriSink(),
			ServiceAccountName: "Not_A_Name",
		},
		wantPaths: []string{"spec.serviceAccountName"},
		wantMsg:   "invalid value: Not_A_Name",
	}, {
		name: "invalid namespaceSelector operator",
		spec: TektonStepSourceSpec{
			SourceSpec:         uriSink(),
			ServiceAccountName: "watcher",
			NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: "team", Operator: "Near", Values: []string{"a"},
			}}},
		},
		wantPaths: []string{"spec.namespaceSelector.matchExpressions[0].operator"},
		wantMsg:   "not a valid selector operator",
	}, {
		name: "invalid selector label value",
		spec: TektonStepSourceSpec{
			SourceSpec: uriSink(),
			Selector:   &metav1.LabelSelector{MatchLabels: map[string]string{"app": "not a value"}},
		},
		wantPaths: []string{"spec.selector.matchLabels"},
		wantMsg:   "a valid label must be",
	}, {
		name: "In without values",
		spec: TektonStepSourceSpec{
			SourceSpec: uriSink(),
			Selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: "app", Operator: metav1.LabelSelectorOpIn,
			}}},
		},
		wantPaths: []string{"spec.selector.matchExpressions[0].values"},
		wantMsg:   "must be specified when `operator` is 'In' or 'NotIn'",
	}, {
		name: "negative log.maxBytes",
		spec: TektonStepSourceSpec{
			SourceSpec: uriSink(),
			Log:        &LogSpec{MaxBytes: &negative},
		},
		wantPaths: []string{"spec.log.maxBytes"},
		wantMsg:   "expected 0 <= -1 <= 524288",
	}, {
		name: "log.maxBytes over 512 KiB",
		spec: TektonStepSourceSpec{
			SourceSpec: uriSink(),
			Log:        &LogSpec{MaxBytes: &overCap},
		},
		wantPaths: []string{"spec.log.maxBytes"},
		wantMsg:   "expected 0 <= 524289 <= 524288",
	}, {
		name:      "no replicas",
		spec:      TektonStepSourceSpec{SourceSpec: uriSink(), Replicas: ptr.Int32(0)},
		wantPaths: []string{"spec.replicas"},
		wantMsg:   "expected 1 <= 0 <= 10",
	}, {
		name:      "more replicas than buckets",
		spec:      TektonStepSourceSpec{SourceSpec: uriSink(), Replicas: ptr.Int32(11)},
		wantPaths: []string{"spec.replicas"},
		wantMsg:   "expected 1 <= 11 <= 10",
	}, {
		name: "a replay",
		spec: TektonStepSourceSpec{SourceSpec: uriSink(), Replays: []ReplaySpec{{
			Name: "backfill", Since: replayFrom, Until: &replayTo, TaskRun: "build-1", Types: []string{"failed", "succeeded"},
		}}},
	}, {
		name:      "a replay without a name or start",
		spec:      TektonStepSourceSpec{SourceSpec: uriSink(), Replays: []ReplaySpec{{}}},
		wantPaths: []string{"spec.replays[0].name", "spec.replays[0].since"},
		wantMsg:   "missing field(s)",
	}, {
		name:      "a replay name that is no DNS label",
		spec:      TektonStepSourceSpec{SourceSpec: uriSink(), Replays: []ReplaySpec{{Name: "Back_fill", Since: replayFrom}}},
		wantPaths: []string{"spec.replays[0].name"},
		wantMsg:   "invalid value: Back_fill",
	}, {
		name:      "a replay name too long for its journal annotation",
		spec:      TektonStepSourceSpec{SourceSpec: uriSink(), Replays: []ReplaySpec{{Name: strings.Repeat("r", 41), Since: replayFrom}}},
		wantPaths: []string{"spec.replays[0].name"},
		wantMsg:   "at most 40 characters",
	}, {
		name:      "a replay that ends before it starts",
		spec:      TektonStepSourceSpec{SourceSpec: uriSink(), Replays: []ReplaySpec{{Name: "r", Since: replayTo, Until: &replayFrom}}},
		wantPaths: []string{"spec.replays[0].until"},
		wantMsg:   "must be after since",
	}, {
		name:      "a replay of an unknown transition",
		spec:      TektonStepSourceSpec{SourceSpec: uriSink(), Replays: []ReplaySpec{{Name: "r", Since: replayFrom, Types: []string{"failed", "finished"}}}},
		wantPaths: []string{"spec.replays[0].types[1]"},
		wantMsg:   "must be one of started, succeeded, failed, skipped",
	}, {
		name: "two replays of one name",
		spec: TektonStepSourceSpec{SourceSpec: uriSink(), Replays: []ReplaySpec{
			{Name: "r", Since: replayFrom}, {Name: "r", Since: replayTo}}},
		wantPaths: []string{"spec.replays[1].name"},
		wantMsg:   "two replays named r",
	}, {
		name: "more replays than the journal records",
		spec: TektonStepSourceSpec{SourceSpec: uriSink(), Replays: func() []ReplaySpec {
			var out []ReplaySpec
			for i := range MaxReplays + 1 {
				out = append(out, ReplaySpec{Name: fmt.Sprintf("r%d", i), Since: replayFrom})
			}
			return out
		}()},
		wantPaths: []string{"spec.replays"},
		wantMsg:   "expected 0 <= 21 <= 20",
	}, {
		name: "filter with two dialects",
		spec: TektonStepSourceSpec{
			SourceSpec: uriSink(),
			Filters: []eventingv1.SubscriptionsAPIFilter{{
				Exact:  map[string]string{"type": StepFailedEventType},
				Prefix: map[string]string{"type": "dev.tekton"},
			}},
		},
		wantPaths: []string{"spec.filters[0]"},
		wantMsg:   "multiple dialects found, filters can have only one dialect set: spec.filters[0]",
	}, {
		name: "bad CESQL",
		spec: TektonStepSourceSpec{
			SourceSpec: uriSink(),
			Filters:    []eventingv1.SubscriptionsAPIFilter{{CESQL: "type = = 'x'"}},
		},
		wantPaths: []string{"spec.filters[0].cesql"},
		wantMsg:   "invalid value",
	}, {
		name: "bad nested filter",
		spec: TektonStepSourceSpec{
			SourceSpec: uriSink(),
			Filters: []eventingv1.SubscriptionsAPIFilter{{All: []eventingv1.SubscriptionsAPIFilter{
				{Exact: map[string]string{"type": StepFailedEventType}},
				{Exact: map[string]string{"not an attribute!": "x"}},
			}}},
		},
		wantPaths: []string{"spec.filters[0].all[1].exact"},
		wantMsg:   "not an attribute!",
	}, {
		// Found by the property test (TestSpecProperty): the adapter
		// refused the recursion guard's selector and crash-looped.
		name: "EventListener sink whose name is no label value",
		spec: TektonStepSourceSpec{SourceSpec: duckv1.SourceSpec{Sink: duckv1.Destination{Ref: &duckv1.KReference{
			APIVersion: "triggers.tekton.dev/v1beta1", Kind: "EventListener", Name: strings.Repeat("l", 64), Namespace: "Bad_NS",
		}}}},
		wantPaths: []string{"spec.sink.ref.name", "spec.sink.ref.namespace"},
		wantMsg:   "the recursion guard selects the EventListener's TaskRuns by the label triggers.tekton.dev/eventlistener=<name>",
	}, {
		name: "EventListener sink whose name is no label value, without the recursion guard",
		spec: TektonStepSourceSpec{SourceSpec: duckv1.SourceSpec{Sink: duckv1.Destination{Ref: &duckv1.KReference{
			APIVersion: "triggers.tekton.dev/v1beta1", Kind: "EventListener", Name: strings.Repeat("l", 64),
		}}}, IncludeSinkTriggeredRuns: true},
	}, {
		// Found by the property test: every send failed, and was retried
		// forever.
		name:      "a sink URI that is not HTTP",
		spec:      TektonStepSourceSpec{SourceSpec: duckv1.SourceSpec{Sink: duckv1.Destination{URI: &apis.URL{Scheme: "ftp", Host: "x"}}}},
		wantPaths: []string{"spec.sink.uri"},
		wantMsg:   "invalid value: ftp://x: spec.sink.uri\nevents are sent over HTTP: the URI must be http:// or https://",
	}, {
		name: "a dead-letter sink URI that is not HTTP",
		spec: TektonStepSourceSpec{SourceSpec: uriSink(), Delivery: &eventingduckv1.DeliverySpec{
			DeadLetterSink: &duckv1.Destination{URI: &apis.URL{Scheme: "kafka", Host: "x"}}}},
		wantPaths: []string{"spec.delivery.deadLetterSink.uri"},
		wantMsg:   "the URI must be http:// or https://",
	}, {
		// Accepted, they would fail every TLS connection, each retried as
		// a network failure.
		name: "CA certificates that are no PEM certificate",
		spec: TektonStepSourceSpec{SourceSpec: duckv1.SourceSpec{Sink: duckv1.Destination{URI: apis.HTTPS("sink.example"),
			CACerts: ptr.String("not a certificate")}}, Delivery: &eventingduckv1.DeliverySpec{
			DeadLetterSink: &duckv1.Destination{URI: apis.HTTPS("dls.example"), CACerts: ptr.String("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")}}},
		wantPaths: []string{"spec.sink.CACerts", "spec.delivery.deadLetterSink.CACerts"},
		wantMsg:   "invalid value: <17 bytes without a PEM certificate>: spec.sink.CACerts\nthe CA certificates that verify an https sink, PEM-encoded",
	}, {
		name: "CA certificates that parse",
		spec: TektonStepSourceSpec{SourceSpec: duckv1.SourceSpec{Sink: duckv1.Destination{URI: apis.HTTPS("sink.example"),
			CACerts: ptr.String(testCAPEM)}}},
	}, {
		name: "HTTPS sinks, and a path relative to a reference",
		spec: TektonStepSourceSpec{SourceSpec: duckv1.SourceSpec{Sink: duckv1.Destination{
			Ref: &duckv1.KReference{APIVersion: "v1", Kind: "Service", Name: "s"}, URI: &apis.URL{Path: "/events"}}},
			Delivery: &eventingduckv1.DeliverySpec{DeadLetterSink: &duckv1.Destination{URI: apis.HTTPS("dls.example.com")}}},
	}, {
		// Found by the property test: Knative skips an empty filter, lets
		// every event through a not of one, and its not filter's Cleanup
		// dereferences the missing filter when the adapter stops.
		name:      "an empty filter inside not",
		spec:      withFilters(eventingv1.SubscriptionsAPIFilter{Not: &eventingv1.SubscriptionsAPIFilter{}}),
		wantPaths: []string{"spec.filters[0].not"},
		wantMsg:   "empty filter: spec.filters[0].not\na filter needs one of exact, prefix, suffix, all, any, not or cesql",
	}, {
		name:      "an empty filter, and an all of none",
		spec:      withFilters(eventingv1.SubscriptionsAPIFilter{}, eventingv1.SubscriptionsAPIFilter{All: []eventingv1.SubscriptionsAPIFilter{}}),
		wantPaths: []string{"spec.filters[0]", "spec.filters[1]"},
		wantMsg:   "empty filter",
	}, {
		// Knative's CESQL filter asserts a Boolean result: any other one
		// panicked the adapter on its first event (issue 34).
		name:      "CESQL: a bare string attribute is no condition",
		spec:      withFilters(eventingv1.SubscriptionsAPIFilter{CESQL: "tektonstep"}),
		wantPaths: []string{"spec.filters[0].cesql"},
		wantMsg:   "invalid value: tektonstep: spec.filters[0].cesql\na filter must be a condition (such as tektonstep = 'build' or EXISTS tektonpipeline), and this expression's value is a String, not a Boolean",
	}, {
		name:      "CESQL: a bare integer attribute is no condition",
		spec:      withFilters(eventingv1.SubscriptionsAPIFilter{CESQL: "tektonattempt"}),
		wantPaths: []string{"spec.filters[0].cesql"},
		wantMsg:   "value is an Integer, not a Boolean",
	}, {
		name:      "CESQL: an attribute only replays carry is no condition either",
		spec:      withFilters(eventingv1.SubscriptionsAPIFilter{CESQL: "(replay)"}),
		wantPaths: []string{"spec.filters[0].cesql"},
		wantMsg:   "value is a String, not a Boolean",
	}, {
		name:      "CESQL: an integer literal",
		spec:      withFilters(eventingv1.SubscriptionsAPIFilter{CESQL: "1"}),
		wantPaths: []string{"spec.filters[0].cesql"},
		wantMsg:   "value is an Integer, not a Boolean",
	}, {
		name:      "CESQL: a string literal",
		spec:      withFilters(eventingv1.SubscriptionsAPIFilter{CESQL: "'x'"}),
		wantPaths: []string{"spec.filters[0].cesql"},
		wantMsg:   "value is a String, not a Boolean",
	}, {
		// Its cast fails on the sample's step name, and would succeed on a
		// step named "1": the type is what counts.
		name:      "CESQL: a function of another type",
		spec:      withFilters(eventingv1.SubscriptionsAPIFilter{CESQL: "INT(tektonstep)"}),
		wantPaths: []string{"spec.filters[0].cesql"},
		wantMsg:   "value is an Integer, not a Boolean",
	}, {
		name: "CESQL: a non-boolean expression nested in all, any and not",
		spec: withFilters(eventingv1.SubscriptionsAPIFilter{All: []eventingv1.SubscriptionsAPIFilter{
			{Exact: map[string]string{"type": StepFailedEventType}},
			{Any: []eventingv1.SubscriptionsAPIFilter{{Not: &eventingv1.SubscriptionsAPIFilter{CESQL: "LOWER(tektonstep)"}}}},
		}}),
		wantPaths: []string{"spec.filters[0].all[1].any[0].not.cesql"},
		wantMsg:   "invalid value: LOWER(tektonstep)",
	}, {
		name:      "CESQL: an attribute no event carries",
		spec:      withFilters(eventingv1.SubscriptionsAPIFilter{CESQL: "cluster = 'dev'"}),
		wantPaths: []string{"spec.filters[0].cesql"},
		wantMsg:   "missing attribute error: cluster: the source's events carry no such attribute, so the filter would drop every event",
	}, {
		name:      "CESQL: a function CESQL lacks",
		spec:      withFilters(eventingv1.SubscriptionsAPIFilter{CESQL: "LENGTH(tektonstep, 2) > 3"}),
		wantPaths: []string{"spec.filters[0].cesql"},
		wantMsg:   "missing function error: LENGTH: CESQL has no function of that name taking that many arguments",
	}, {
		// CESQL's SUBSTRING slices with a negative length.
		name:      "CESQL: an expression whose evaluation panics",
		spec:      withFilters(eventingv1.SubscriptionsAPIFilter{CESQL: "SUBSTRING(tektonstep, 1, -1) = 'c'"}),
		wantPaths: []string{"spec.filters[0].cesql"},
		wantMsg:   "evaluating it on an event fails (runtime error: slice bounds out of range",
	}, {
		// Found while reviewing the property test: CESQL's lexer skips what
		// it does not recognise, and its parser never learns of it.
		name:      "CESQL: a character the lexer skips",
		spec:      withFilters(eventingv1.SubscriptionsAPIFilter{CESQL: "tektonstep = 'x' é"}),
		wantPaths: []string{"spec.filters[0].cesql"},
		wantMsg:   "invalid value: tektonstep = 'x' é: spec.filters[0].cesql\ncolumn 18: token recognition error at: 'é'",
	}, {
		name: "CESQL: conditions, also on optional attributes and with casts",
		spec: withFilters(
			eventingv1.SubscriptionsAPIFilter{CESQL: "NOT EXISTS replay AND tektonattempt >= 0"},
			eventingv1.SubscriptionsAPIFilter{CESQL: "type IN ('" + StepFailedEventType + "') OR tektonpipeline LIKE 'rel%'"},
			eventingv1.SubscriptionsAPIFilter{CESQL: "BOOL(tektonstep) OR LENGTH(partitionkey) > 3"},
		),
	}, {
		name:      "exact: an attribute no event carries",
		spec:      withFilters(eventingv1.SubscriptionsAPIFilter{Exact: map[string]string{"cluster": "dev"}}),
		wantPaths: []string{"spec.filters[0].exact"},
		wantMsg:   `invalid key name "cluster"`,
	}, {
		name:      "prefix: an empty value, which Knative skips",
		spec:      withFilters(eventingv1.SubscriptionsAPIFilter{Any: []eventingv1.SubscriptionsAPIFilter{{Prefix: map[string]string{"tektonstep": ""}}}}),
		wantPaths: []string{"spec.filters[0].any[0].prefix.tektonstep"},
		wantMsg:   "a value is required: Knative skips a filter with an empty value",
	}, {
		// What a YAML block scalar (|) gives: net/http refused every
		// binary-mode send with it (issue 34).
		name:      "ceOverrides value ending with a newline",
		spec:      withOverrides(map[string]string{"env": "prod\n"}),
		wantPaths: []string{"spec.ceOverrides.extensions[env]"},
		wantMsg:   `invalid value: "prod\n": spec.ceOverrides.extensions[env]` + "\nU+000A (newline) is not allowed",
	}, {
		name:      "ceOverrides value with a tab",
		spec:      withOverrides(map[string]string{"env": "a\tb"}),
		wantPaths: []string{"spec.ceOverrides.extensions[env]"},
		wantMsg:   "U+0009 is not allowed",
	}, {
		name:      "ceOverrides value with a C1 control character",
		spec:      withOverrides(map[string]string{"env": "a\u0085"}),
		wantPaths: []string{"spec.ceOverrides.extensions[env]"},
		wantMsg:   "U+0085 is not allowed",
	}, {
		name:      "ceOverrides value with DEL",
		spec:      withOverrides(map[string]string{"env": "\x7f"}),
		wantPaths: []string{"spec.ceOverrides.extensions[env]"},
		wantMsg:   "U+007F is not allowed",
	}, {
		name:      "ceOverrides value with a noncharacter",
		spec:      withOverrides(map[string]string{"env": "a\U0010FFFF"}),
		wantPaths: []string{"spec.ceOverrides.extensions[env]"},
		wantMsg:   "U+10FFFF is not allowed",
	}, {
		name:      "ceOverrides value with an encoded surrogate",
		spec:      withOverrides(map[string]string{"env": "a\xed\xa0\x80"}),
		wantPaths: []string{"spec.ceOverrides.extensions[env]"},
		wantMsg:   "not UTF-8",
	}, {
		name:      "ceOverrides value with a trailing space",
		spec:      withOverrides(map[string]string{"env": "prod "}),
		wantPaths: []string{"spec.ceOverrides.extensions[env]"},
		wantMsg:   "a leading or trailing space is not allowed",
	}, {
		name:      "ceOverrides name with an uppercase letter",
		spec:      withOverrides(map[string]string{"Env": "prod"}),
		wantPaths: []string{"spec.ceOverrides.extensions"},
		wantMsg:   `invalid key name "Env": spec.ceOverrides.extensions` + "\nCloudEvents attribute names are lowercase letters and digits: use env",
	}, {
		name: "ceOverrides values that are Unicode, spaced inside, empty or as long as the CRD allows",
		spec: withOverrides(map[string]string{"region": "Zürich – Ost 東京 🚀", "empty": "", "long": strings.Repeat("x", 64), "env2": "prod"}),
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &TektonStepSource{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"}, Spec: tc.spec}
			err := src.Validate(context.Background())
			if len(tc.wantPaths) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want no error", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("Validate() = %q, want it to contain %q", err.Error(), tc.wantMsg)
			}
			for _, p := range tc.wantPaths {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("Validate() = %q, want it to name the field %q", err.Error(), p)
				}
			}
		})
	}
}

// testCAPEM is a self-signed certificate (openssl req -x509 -newkey ec
// -pkeyopt ec_paramgen_curve:P-256 -subj /CN=test-ca -days 3650).
const testCAPEM = `-----BEGIN CERTIFICATE-----
MIIBejCCAR+gAwIBAgIUc1NPtWMPt3Fj5W/e/dwxDloPPrYwCgYIKoZIzj0EAwIw
EjEQMA4GA1UEAwwHdGVzdC1jYTAeFw0yNjEyMDgwMjA0MzlaFw0zNjEyMDUwMjA0
MzlaMBIxEDAOBgNVBAMMB3Rlc3QtY2EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC
AAQ4C4K8exCevvIP9EeaNDhlpIEgnnxl6qiGA0JJo03gwH7aHnIQpGwaost9Sk4f
RpwuLnn2Q7jPO/R7S1YW4+aEo1MwUTAdBgNVHQ4EFgQUHqEjEh7XeAL0/U34ZgBw
pYGLOkcwHwYDVR0jBBgwFoAUHqEjEh7XeAL0/U34ZgBwpYGLOkcwDwYDVR0TAQH/
BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEAnggg7QSIgqMNylqO3sxdRhENr9N2
4ucIgCPJvlN/7toCIQDtf/bNVKSWs/zmYlJP66qf2zt83BAdVo8f2OHKasbM5Q==
-----END CERTIFICATE-----
`
