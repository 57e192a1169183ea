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
	"fmt"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/types"
	"knative.dev/eventing/pkg/eventfilter"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/compose"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/delivery"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/events"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/streams"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
)

// This file delivers one transition: its event composed in two halves
// around the filters, sent, and every outcome settled in one place.

// deliver delivers the transition's event in the lane (the replay that
// re-sends it, replay, names it in its event; "" for a live one). A nil
// error means the transition is done: acknowledged, filtered out,
// dead-lettered or rejected (logged, counted and shown on the source).
// Otherwise it is retried, with the same id and log; a *retryAfterError
// says how long to wait first.
//
// The event is composed in two halves: its attributes, from the TaskRun
// and the transition, which the filters test, and only then the data that
// needs reads (the Secrets to mask, the step's log), so that a filtered
// event costs no API call.
func (a *Adapter) deliver(ctx context.Context, tr *pipelinev1.TaskRun, t transitions.Transition, lane streams.Lane, replay string) error {
	key := types.NamespacedName{Namespace: tr.Namespace, Name: tr.Name}
	id := t.ID(tr.UID)
	at, retrying := a.streams.Attempt(key, tr.UID, lane, id)
	if now := time.Now(); retrying && now.Before(at.NotBefore) {
		// Woken early (the TaskRun changed): the wait still holds.
		return &retryAfterError{wait: at.NotBefore.Sub(now)}
	}
	if !retrying {
		at = streams.Attempt{ID: id}
	}
	// Lazy: most deliveries log nothing above debug, and encoding the
	// fields for each one was 2% of the adapter's CPU.
	fields := []interface{}{zap.String("id", id), zap.String("type", t.Kind.EventType()),
		zap.String("taskrun", tr.Namespace+"/"+tr.Name)}
	if replay != "" {
		fields = append(fields, zap.String("replay", replay))
	}
	d := &delivering{a: a, tr: tr, key: key, lane: lane, at: at, eventType: t.Kind.EventType(), logger: a.logger.WithLazy(fields...)}

	event, err := guarded(func() (cloudevents.Event, error) {
		e := events.Attributes(tr, t)
		if replay != "" {
			e.SetExtension(events.ExtReplay, replay)
		}
		return e, nil
	})
	if err != nil {
		return d.settle(ctx, cloudevents.Event{}, d.failedLocally(err, false))
	}
	var filterErr error
	if !at.DeadLetter {
		// A dead-letter bound event passed the filters on its way there.
		drop, err := guarded(func() (bool, error) {
			return a.filter != nil && a.filter.Filter(ctx, event) == eventfilter.FailFilter, nil
		})
		if err != nil {
			// Composed still, so that it can be dead-lettered.
			filterErr = fmt.Errorf("applying spec.filters: %w", err)
		} else if drop {
			d.logger.Debug("Event dropped by the source's filters")
			a.stats.filtered.Add(ctx, 1, a.stats.attrs)
			a.streams.Release(key, tr.UID, lane)
			return nil
		}
	}
	if wait, ok := a.composer.Read(ctx, tr, t, &d.at, d.logger); !ok {
		return &retryAfterError{wait: wait}
	}
	if d.at.Withheld != nil {
		t = compose.WithoutResults(t)
	}
	if _, err := guarded(func() (struct{}, error) { return struct{}{}, events.SetData(&event, tr, t, d.at.Log, d.at.Masker) }); err != nil {
		return d.settle(ctx, event, d.failedLocally(err, false))
	}
	if filterErr != nil {
		return d.settle(ctx, event, d.failedLocally(filterErr, true))
	}
	return d.settle(ctx, event, a.sender.Send(ctx, event, &d.at.Fate))
}

// delivering is one delivery of an event: its TaskRun, lane and attempt.
type delivering struct {
	a         *Adapter
	tr        *pipelinev1.TaskRun
	key       types.NamespacedName
	lane      streams.Lane
	at        streams.Attempt
	eventType string
	logger    *zap.SugaredLogger
	// loggedLocally: failedLocally logged why the event never left the
	// process. A refusal the sender met on its way out (an https sink's
	// certificate that does not verify) is logged by settle instead.
	loggedLocally bool
}

// failedLocally is the outcome of an event that failed before it could be
// sent (logged here, with the stack of a panic): built says whether the
// event exists to be dead-lettered.
func (d *delivering) failedLocally(cause error, built bool) delivery.Outcome {
	fields := []interface{}{zap.Error(cause)}
	if p, ok := cause.(*panicError); ok {
		fields = append(fields, zap.ByteString("stack", p.stack))
	}
	d.logger.Errorw("The event failed before it could be sent", fields...)
	d.loggedLocally = true
	return d.a.sender.Failed(&d.at.Fate, cause, built)
}

// settle does what the outcomes of the event's attempts call for: every
// metric, log, Kubernetes Event and attempt state of a sent event is here
// (a filtered event is settled where the filters dropped it, a local
// failure logged where it happened). A nil error means the event is done.
func (d *delivering) settle(ctx context.Context, event cloudevents.Event, out delivery.Outcome) error {
	a := d.a
	for {
		switch out.Kind {
		case delivery.Delivered:
			d.logger.Debug("Event delivered")
			a.stats.sent(ctx, d.eventType, out.Took, a.stats.delivered)
		case delivery.ToDeadLetter:
			switch {
			case out.Answer.Local == nil:
				d.logger.Warnw("The sink did not accept the event; sending it to the dead-letter sink",
					zap.Int("status", out.Answer.Status), zap.Int("attempts", out.Attempts), zap.Error(out.Err))
			case !d.loggedLocally:
				d.logger.Warnw("The event could not be sent to the sink; sending it to the dead-letter sink",
					zap.Int("attempts", out.Attempts), zap.Error(out.Answer.Local))
			}
			a.stats.sent(ctx, d.eventType, out.Took, a.stats.failed)
			out = a.sender.Send(ctx, event, &d.at.Fate)
			continue
		case delivery.DeadLettered:
			d.logger.Warnw("Event dead-lettered", zap.Int("sinkStatus", d.at.SinkAnswer.Status))
			a.stats.sent(ctx, d.eventType, out.Took, a.stats.deadLettered)
		case delivery.Rejected:
			d.reject(ctx, out)
		case delivery.Retry:
			a.stats.sent(ctx, d.eventType, out.Took, a.stats.failed)
			a.streams.Hold(d.key, d.tr.UID, d.lane, d.at)
			return &retryAfterError{err: d.failure(out), wait: out.Wait}
		case delivery.Unready:
			// Nothing was attempted: the queue's backoff, nothing counted.
			a.streams.Hold(d.key, d.tr.UID, d.lane, d.at)
			return d.failure(out)
		}
		a.streams.Release(d.key, d.tr.UID, d.lane)
		return nil
	}
}

// failure is the error a retried delivery reports.
func (d *delivering) failure(out delivery.Outcome) error {
	if out.Target == delivery.TargetDeadLetter {
		return fmt.Errorf("sending %s to the dead-letter sink: %w", d.at.ID, out.Err)
	}
	return fmt.Errorf("sending %s: %w", d.at.ID, out.Err)
}

// reject gives up on an event: logged with its id, counted and shown on
// the source as a Warning Event.
func (d *delivering) reject(ctx context.Context, out delivery.Outcome) {
	id, tr := d.at.ID, d.tr
	if out.Answer.Local != nil {
		d.logger.Errorw("Event rejected: it could not be sent, after "+out.Why+"; not retried", zap.Error(out.Answer.Local))
		d.a.sourceEvents.rejected(id, fmt.Sprintf("Event %s (%s of TaskRun %s/%s) could not be sent to the %s (%v), after %s; not retried",
			id, d.eventType, tr.Namespace, tr.Name, out.Target, out.Answer.Local, out.Why))
	} else {
		d.logger.Errorw("Event rejected: the "+out.Target+" did not accept it, after "+out.Why+"; not retried", zap.Int("status", out.Answer.Status))
		d.a.sourceEvents.rejected(id, fmt.Sprintf("The %s answered %s to event %s (%s of TaskRun %s/%s), after %s; not retried",
			out.Target, out.Answer.StatusText(), id, d.eventType, tr.Namespace, tr.Name, out.Why))
	}
	d.a.stats.sent(ctx, d.eventType, out.Took, d.a.stats.rejected)
}
