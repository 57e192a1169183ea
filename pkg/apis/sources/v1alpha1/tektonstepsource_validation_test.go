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
