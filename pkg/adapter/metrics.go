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

package adapter

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// The adapter's own metrics, next to the ones adapter/v2's client records
// for each send (event count by response code, retries, HTTP client
// latency). They are exported as configured by K_OBSERVABILITY_CONFIG.
const (
	MetricDelivered    = "tekton_step_source.events.delivered"
	MetricFiltered     = "tekton_step_source.events.filtered"
	MetricRejected     = "tekton_step_source.events.rejected"
	MetricDeadLettered = "tekton_step_source.events.dead_lettered"
	MetricFailed       = "tekton_step_source.events.failed"
	MetricSendDuration = "tekton_step_source.send.duration"
	MetricQueueDepth   = "tekton_step_source.queue.depth"
	// MetricCheckpointWrites counts checkpoint writes by store (journal or
	// annotation) and outcome (written, failed or refused): failed writes
	// are retried, and until one succeeds a crash repeats more events.
	MetricCheckpointWrites = "tekton_step_source.checkpoint.writes"
)

type metrics struct {
	delivered, filtered, rejected, deadLettered, failed metric.Int64Counter
	checkpointWrites                                    metric.Int64Counter
	sendDuration                                        metric.Float64Histogram
	attrs                                               metric.MeasurementOption
}

func newMetrics(mp metric.MeterProvider, sourceNamespace, sourceName string, queueDepth func() int) (*metrics, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter("github.com/tektonstep/tekton-step-source/pkg/adapter")
	m := &metrics{attrs: metric.WithAttributes(
		attribute.String("source.namespace", sourceNamespace),
		attribute.String("source.name", sourceName),
	)}
	var err error
	if m.delivered, err = meter.Int64Counter(MetricDelivered, metric.WithDescription("Events the sink acknowledged")); err != nil {
		return nil, err
	}
	if m.filtered, err = meter.Int64Counter(MetricFiltered, metric.WithDescription("Events dropped by spec.filters")); err != nil {
		return nil, err
	}
	if m.rejected, err = meter.Int64Counter(MetricRejected, metric.WithDescription("Events given up on without a dead-letter sink to take them: refused with an answer that retrying cannot change (a 4xx other than 401, 404, 408, 409 and 429, a 3xx, or an https sink's certificate that does not verify), or failed spec.delivery.retry+1 times; or refused so by the dead-letter sink")); err != nil {
		return nil, err
	}
	if m.deadLettered, err = meter.Int64Counter(MetricDeadLettered, metric.WithDescription("Events the dead-letter sink acknowledged")); err != nil {
		return nil, err
	}
	if m.failed, err = meter.Int64Counter(MetricFailed, metric.WithDescription("Failed delivery attempts (to the sink or the dead-letter sink) after which the event is retried or dead-lettered")); err != nil {
		return nil, err
	}
	if m.checkpointWrites, err = meter.Int64Counter(MetricCheckpointWrites,
		metric.WithDescription("Checkpoint writes, by store (journal, annotation) and outcome (written, failed, refused)")); err != nil {
		return nil, err
	}
	if m.sendDuration, err = meter.Float64Histogram(MetricSendDuration, metric.WithUnit("s"),
		metric.WithDescription("Time to deliver one event, including the sink's answer")); err != nil {
		return nil, err
	}
	_, err = meter.Int64ObservableGauge(MetricQueueDepth, metric.WithDescription("TaskRuns waiting for delivery"),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(int64(queueDepth()), m.attrs)
			return nil
		}))
	return m, err
}

func (m *metrics) sent(ctx context.Context, eventType string, took time.Duration, counter metric.Int64Counter) {
	typeAttr := metric.WithAttributes(attribute.String("event.type", eventType))
	counter.Add(ctx, 1, m.attrs, typeAttr)
	m.sendDuration.Record(ctx, took.Seconds(), m.attrs, typeAttr)
}

// checkpointWrote counts one checkpoint write to the store, with its
// outcome (progress.StoreJournal, StoreAnnotation; OutcomeWritten,
// OutcomeFailed (retried), OutcomeRefused (for good: an annotation that
// would make the TaskRun's annotations too large, whose progress goes to
// the journal; a journal write that would make it too large, whose new
// entries go to their annotations)).
func (m *metrics) checkpointWrote(ctx context.Context, store, outcome string) {
	m.checkpointWrites.Add(ctx, 1, m.attrs, metric.WithAttributes(
		attribute.String("checkpoint.store", store), attribute.String("outcome", outcome)))
}
