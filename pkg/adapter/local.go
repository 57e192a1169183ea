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
	"runtime/debug"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"go.uber.org/zap"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/events"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
)

// This file handles the events that fail before they leave the process:
// an event that cannot be built, a filter that fails on it (a CESQL
// expression Knative's filter cannot apply panics there), an event the
// HTTP binding cannot carry. Each fails the same way every time, so it is
// retried only as often as a bounded spec.delivery.retry allows, and then
// dead-lettered, or rejected: one TaskRun's event never stops the process,
// nor holds the TaskRun's later events forever.

// guarded runs f, turning a panic into an error that carries it with the
// stack, so that it fails this event, not the process.
func guarded[T any](f func() (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{value: r, stack: debug.Stack()}
		}
	}()
	return f()
}

// panicError is a panic recovered by guarded.
type panicError struct {
	value interface{}
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// build is the transition's event, carrying the log and masked as the retry
// state says, marked with the replay ("" for a live event).
func build(tr *pipelinev1.TaskRun, t transitions.Transition, st retryState, replay string) (cloudevents.Event, error) {
	event, err := events.New(tr, t, st.log, st.masker)
	if err != nil {
		return event, err
	}
	if replay != "" {
		event.SetExtension(events.ExtReplay, replay)
	}
	return event, nil
}

// failedLocally decides the fate of an event that failed before it could be
// sent: event is nil when it could not even be built (it can then only be
// retried or rejected: there is nothing to dead-letter). A nil error means
// it is done (dead-lettered or rejected).
func (a *Adapter) failedLocally(ctx context.Context, logger *zap.SugaredLogger, tr *pipelinev1.TaskRun, t transitions.Transition,
	event *cloudevents.Event, st retryState, cause error) error {
	fields := []interface{}{zap.Error(cause)}
	if p, ok := cause.(*panicError); ok {
		fields = append(fields, zap.ByteString("stack", p.stack))
	}
	logger.Errorw("The event failed before it could be sent", fields...)
	st.failures++
	ans := answer{local: cause}
	v := a.policy.afterFailure(st.failures, ans, time.Now())
	switch {
	case v.action == retryLater:
		a.stats.sent(ctx, t.Kind.EventType(), 0, a.stats.failed)
		return a.retryLater(tr, st, v, fmt.Errorf("event %s: %w", t.ID(tr.UID), cause))
	case v.action == toDeadLetter && event != nil:
		a.stats.sent(ctx, t.Kind.EventType(), 0, a.stats.failed)
		st.deadLetter, st.sinkAnswer, st.sinkErr, st.failures, st.notBefore = true, ans, cause, 0, time.Time{}
		return a.sendDeadLetter(ctx, logger, tr, *event, st)
	}
	a.reject(ctx, logger, tr, t.ID(tr.UID), t.Kind.EventType(), st.runs, "sink", ans, a.rejectedAfter(ans, st.failures), 0)
	return nil
}
