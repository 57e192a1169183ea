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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/kmeta"
)

// +genclient
// +genreconciler
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// TektonStepSource sends a CloudEvent to its sink for every transition of
// every step of the Tekton TaskRuns it watches: started, succeeded, failed
// and skipped.
type TektonStepSource struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec holds the desired state of the TektonStepSource (from the client).
	Spec TektonStepSourceSpec `json:"spec,omitempty"`

	// Status communicates the observed state of the TektonStepSource (from the controller).
	// +optional
	Status TektonStepSourceStatus `json:"status,omitempty"`
}

var (
	_ runtime.Object     = (*TektonStepSource)(nil)
	_ kmeta.OwnerRefable = (*TektonStepSource)(nil)
	_ apis.Validatable   = (*TektonStepSource)(nil)
	_ apis.Defaultable   = (*TektonStepSource)(nil)
	_ apis.HasSpec       = (*TektonStepSource)(nil)
	_ duckv1.KRShaped    = (*TektonStepSource)(nil)
)

// TektonStepSourceSpec defines the desired state of a TektonStepSource.
type TektonStepSourceSpec struct {
	// SourceSpec inlines the sink (where to send events) and the CloudEvent
	// overrides, as every Knative source does.
	duckv1.SourceSpec `json:",inline"`

	// ServiceAccountName is the service account the receive adapter runs as.
	// When empty, the controller creates a service account for this source
	// that may only read TaskRuns, pods and pod logs in the source's own
	// namespace. When set, the controller grants nothing and checks that the
	// account may read what the source watches.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// NamespaceSelector selects the namespaces whose TaskRuns are watched.
	// When absent, only the source's own namespace is watched. An empty
	// selector ({}) selects every namespace. It requires ServiceAccountName,
	// so a source never sees namespaces its own service account cannot.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// Selector selects TaskRuns by label; when absent every TaskRun in the
	// watched namespaces is observed.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`

	// Filters are applied to each outgoing event before it is sent, with the
	// same syntax and semantics as the filters of a Knative Trigger (exact,
	// prefix, suffix, all, any, not, cesql). An event is sent only when all
	// filters match.
	// +optional
	Filters []eventingv1.SubscriptionsAPIFilter `json:"filters,omitempty"`

	// Log controls whether and how much of a step's log is carried in its
	// succeeded and failed events.
	// +optional
	Log *LogSpec `json:"log,omitempty"`

	// IncludeSinkTriggeredRuns turns off the recursion guard. When the sink
	// is a Tekton Triggers EventListener, TaskRuns that EventListener
	// created in its namespace (label triggers.tekton.dev/eventlistener=<its
	// name>, which PipelineRuns pass on to their TaskRuns) produce no events
	// by default:
	// otherwise events could start runs whose events start runs, forever.
	// +optional
	IncludeSinkTriggeredRuns bool `json:"includeSinkTriggeredRuns,omitempty"`

	// Delivery is how events are delivered to the sink, as on a Knative
	// Trigger or Subscription: retry (retries after the first attempt),
	// backoffPolicy and backoffDelay (the wait before each retry), timeout
	// (of one request; default 30 s), retryAfterMax (the longest
	// Retry-After of a 429 or 503 answer that is honoured; without it
	// Retry-After is ignored, as in Knative), format (binary or json) and
	// deadLetterSink (where an event goes once the retries are used up or
	// the sink refused it with an answer retrying cannot change, with the
	// knativeerrordest, knativeerrorcode and knativeerrordata extensions).
	// Without delivery, or without delivery.retry, an event the sink may
	// still accept (401, 404, 408, 409, 429, 5xx, timeouts, connection
	// errors)
	// is retried until it is accepted, so nothing is lost while a sink is
	// down.
	// +optional
	Delivery *eventingduckv1.DeliverySpec `json:"delivery,omitempty"`

	// DeletionGuard, when set, keeps each watched TaskRun from going away
	// before its step events are recorded, like Tekton Results' watcher:
	// the adapter puts the finalizer
	// guard.tektonstepsource.sources.knative.dev/<source uid> on every
	// TaskRun it watches that still has events to send, and takes it off
	// once the events of its finished attempt are delivered and
	// checkpointed. So a TaskRun deleted while the adapter is down, behind
	// or the sink unavailable waits for its events. No TaskRun is held
	// forever: the finalizer also goes once the TaskRun has been deleting
	// for longer than the deadline, when the guard is turned off, and when
	// the source is deleted (the controller removes what the adapter
	// cannot). Other finalizers are never touched.
	// +optional
	DeletionGuard *DeletionGuardSpec `json:"deletionGuard,omitempty"`

	// Masking controls what is masked in events beyond what always is:
	// the matches of the token patterns (built in, and those of the
	// config-masking ConfigMap) are replaced by *** in every event.
	// +optional
	Masking *MaskingSpec `json:"masking,omitempty"`

	// Replays re-send step events the source's TaskRuns still show, each
	// once: every transition in [since, until) of the TaskRuns in the
	// cluster, with its original id, in sequence order per TaskRun, through
	// the same filters and delivery, marked with the replay extension (the
	// replay's name). A replay is done once per name (status.replays shows
	// its progress); listing it again does nothing more. At most 20.
	// +optional
	Replays []ReplaySpec `json:"replays,omitempty"`

	// Replicas is the number of receive adapter pods. With more than one,
	// the replicas split the TaskRuns between them through leader-elected
	// buckets (one per replica): each TaskRun is handled by exactly one
	// replica, and a replica's buckets move to the others when it dies.
	// Defaults to 1; at most 10.
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`
}

// LogSpec controls the step log carried in terminal step events.
type LogSpec struct {
	// MaxBytes caps the log carried in an event, in bytes of the UTF-8 text
	// sent; the tail of the log is kept. 0 disables logs in events.
	// Defaults to 65536; at most 524288 (512 KiB), so that an event stays
	// under the 1 MB a Kafka-backed Broker or Channel takes by default.
	// +optional
	MaxBytes *int64 `json:"maxBytes,omitempty"`
}

// MaskingSpec configures the masking of secrets in events.
type MaskingSpec struct {
	// SecretValues masks the values of the Secrets each step references
	// (env valueFrom.secretKeyRef, envFrom secretRef, and Secret volumes
	// mounted into the step) in its events: in the log, script, args,
	// command, env values and results, also base64- and URL-encoded. It
	// grants the adapter get on the namespace's TaskRun pods and, by name,
	// on the Secrets their steps reference (a user-provided
	// serviceAccountName must be able to get pods and Secrets); the values
	// are read per event and never logged.
	// +optional
	SecretValues bool `json:"secretValues,omitempty"`
}

// MasksSecretValues reports whether the source masks the values of the
// Secrets steps reference (spec.masking.secretValues).
func (s *TektonStepSourceSpec) MasksSecretValues() bool {
	return s.Masking != nil && s.Masking.SecretValues
}

// ReplaySpec asks for the re-sending of the step events of a time window.
type ReplaySpec struct {
	// Name identifies the replay among the source's: a DNS label of at most
	// 40 characters, the value of the replayed events' replay extension.
	Name string `json:"name"`
	// Since is the start of the window: transitions at or after it (their
	// event time) are re-sent.
	Since metav1.Time `json:"since"`
	// Until is the end of the window, exclusive. When absent the window
	// has no end: every transition since Since already sent live when the
	// replay reaches its TaskRun (later ones are sent live anyway).
	// +optional
	Until *metav1.Time `json:"until,omitempty"`
	// TaskRun limits the replay to the TaskRuns of that name (in every
	// watched namespace).
	// +optional
	TaskRun string `json:"taskRun,omitempty"`
	// Types limits the replay to these transitions: started, succeeded,
	// failed, skipped. When absent, all four.
	// +optional
	Types []string `json:"types,omitempty"`
}

// ReplayState is where a replay stands.
type ReplayState string

const (
	// ReplayPending: the adapter has not started the replay yet.
	ReplayPending ReplayState = "Pending"
	// ReplayRunning: the adapter re-sends the replay's events; some
	// replicas may have finished their part.
	ReplayRunning ReplayState = "Running"
	// ReplaySucceeded: every event of the replay ended (delivered,
	// filtered out, dead-lettered or rejected).
	ReplaySucceeded ReplayState = "Succeeded"
)

// ReplayStatus is the progress of one replay of spec.replays.
type ReplayStatus struct {
	// Name is the replay's name in spec.replays.
	Name string `json:"name"`
	// State is Pending, Running or Succeeded.
	State ReplayState `json:"state"`
	// TaskRuns is how many TaskRuns the finished parts went through.
	// +optional
	TaskRuns int64 `json:"taskRuns,omitempty"`
	// Events is how many events the finished parts re-sent (before the
	// filters: filtered-out events count).
	// +optional
	Events int64 `json:"events,omitempty"`
	// CompletionTime is when the last part finished.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
}

// DeletionGuardSpec configures the deletion guard.
type DeletionGuardSpec struct {
	// Deadline is the longest a deleted TaskRun is held for its events
	// (from its deletion), e.g. "10m" or "1h". Defaults to 10m; at most 24h.
	// +optional
	Deadline *metav1.Duration `json:"deadline,omitempty"`
}

// TektonStepSourceStatus defines the observed state of a TektonStepSource.
type TektonStepSourceStatus struct {
	// SourceStatus inlines the Knative source status: conditions,
	// observedGeneration, sinkUri, sinkCACerts, sinkAudience and
	// ceAttributes.
	duckv1.SourceStatus `json:",inline"`

	// DeliveryStatus is the resolved dead-letter sink: deadLetterSinkUri,
	// deadLetterSinkCACerts and deadLetterSinkAudience.
	eventingduckv1.DeliveryStatus `json:",inline"`

	// Namespaces lists the namespaces whose TaskRuns are watched.
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`

	// Replays is the progress of each replay of spec.replays.
	// +optional
	Replays []ReplayStatus `json:"replays,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// TektonStepSourceList is a list of TektonStepSources.
type TektonStepSourceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TektonStepSource `json:"items"`
}

// GetStatus retrieves the status of the TektonStepSource. Implements the KRShaped interface.
func (s *TektonStepSource) GetStatus() *duckv1.Status {
	return &s.Status.Status
}

// GetUntypedSpec returns the spec of the TektonStepSource.
func (s *TektonStepSource) GetUntypedSpec() interface{} {
	return s.Spec
}
