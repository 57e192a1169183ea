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
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
)

// DefaultLogMaxBytes is the default cap on the step log carried in an event.
const DefaultLogMaxBytes int64 = 64 * 1024

// MaxLogMaxBytes bounds spec.log.maxBytes: 512 KiB of log keeps an event,
// with its step definition and state, under the 1 MB a Kafka-backed Broker
// or Channel takes by default (Kafka's message.max.bytes), and the adapter
// holds at most this much per TaskRun whose delivery is being retried.
const MaxLogMaxBytes int64 = 512 * 1024

// DefaultReplicas is the default number of receive adapter pods.
const DefaultReplicas int32 = 1

// MaxReplicas is the most receive adapter pods a source may have: each
// replica leads one bucket, and knative.dev/pkg's leader election allows at
// most 10 buckets.
const MaxReplicas int32 = 10

// MaxReplays bounds spec.replays, and MaxReplayNameLength a replay's
// name: the adapter records each replica's part of a replay in an
// annotation of the source's journal, named after the replay and the part.
const (
	MaxReplays          = 20
	MaxReplayNameLength = 40
)

// MaxDeliveryTimeout bounds spec.delivery.timeout: a sink that accepts a
// request and never answers holds one of the adapter's delivery workers
// (and the TaskRun's later events) for at most this long per attempt.
const MaxDeliveryTimeout = 10 * time.Minute

// DefaultGuardDeadline is spec.deletionGuard.deadline's default, and
// MaxGuardDeadline its bound: a deleted TaskRun is never held longer.
const (
	DefaultGuardDeadline = 10 * time.Minute
	MaxGuardDeadline     = 24 * time.Hour
)

// SetDefaults implements apis.Defaultable.
func (s *TektonStepSource) SetDefaults(ctx context.Context) {
	s.Spec.SetDefaults(apis.WithinParent(ctx, s.ObjectMeta))
}

// SetDefaults fills in the log cap, the replicas and the namespace of the
// sink's and the dead-letter sink's references (the source's own), as
// Knative sources and Triggers do.
func (ss *TektonStepSourceSpec) SetDefaults(ctx context.Context) {
	if ss.Log == nil {
		ss.Log = &LogSpec{}
	}
	if ss.Log.MaxBytes == nil {
		maxBytes := DefaultLogMaxBytes
		ss.Log.MaxBytes = &maxBytes
	}
	if ss.Replicas == nil {
		replicas := DefaultReplicas
		ss.Replicas = &replicas
	}
	ss.Sink.SetDefaults(ctx)
	ss.Delivery.SetDefaults(ctx)
	if ss.DeletionGuard != nil && ss.DeletionGuard.Deadline == nil {
		ss.DeletionGuard.Deadline = &metav1.Duration{Duration: DefaultGuardDeadline}
	}
}
