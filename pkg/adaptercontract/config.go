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

// Package adaptercontract is the contract between the controller and the
// receive adapter, imported by both: the JSON the controller puts in the
// adapter's K_SOURCE_CONFIG environment variable (Config), and the names
// both sides must agree on (names.go). It depends on neither side, so the
// controller binary does not link the adapter or Tekton's API.
package adaptercontract

import (
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/validation"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// EnvName is the environment variable that carries the JSON Config.
const EnvName = "K_SOURCE_CONFIG"

// Config tells a receive adapter what to watch and how to build events.
type Config struct {
	// SourceUID is the UID of the TektonStepSource; it keys the adapter's
	// progress checkpoints so several sources can watch one TaskRun.
	SourceUID string `json:"sourceUID"`
	// SourceName and SourceNamespace identify the TektonStepSource (for logs
	// and metrics); its progress journal is in SourceNamespace.
	SourceName      string `json:"sourceName"`
	SourceNamespace string `json:"sourceNamespace"`

	// AllNamespaces watches TaskRuns cluster-wide (an empty namespaceSelector).
	AllNamespaces bool `json:"allNamespaces,omitempty"`
	// Namespaces lists the namespaces to watch when AllNamespaces is false.
	Namespaces []string `json:"namespaces,omitempty"`

	// LabelSelector selects TaskRuns, in the string form of
	// metav1.FormatLabelSelector; empty selects everything.
	LabelSelector string `json:"labelSelector,omitempty"`

	// ExcludeEventListener is the recursion guard: the name of the Tekton
	// Triggers EventListener that is the sink. TaskRuns it created (label
	// triggers.tekton.dev/eventlistener=<name>) are not watched.
	ExcludeEventListener string `json:"excludeEventListener,omitempty"`

	// Filters are Knative Trigger filters applied to each outgoing event.
	Filters []eventingv1.SubscriptionsAPIFilter `json:"filters,omitempty"`

	// NotBefore is the source's creation time: TaskRun attempts that had
	// completed before it produce no events, so a new source does not replay
	// history.
	NotBefore metav1.Time `json:"notBefore,omitempty"`

	// LogMaxBytes caps the step log carried in terminal events; 0 disables logs.
	LogMaxBytes int64 `json:"logMaxBytes"`

	// GuardDeadline is spec.deletionGuard.deadline; nil: no deletion guard.
	GuardDeadline *metav1.Duration `json:"guardDeadline,omitempty"`

	// Delivery is the source's spec.delivery with its dead-letter sink
	// resolved: deadLetterSink is a URI with the CA certificates and
	// audience of the resolved address. nil without spec.delivery.
	Delivery *eventingduckv1.DeliverySpec `json:"delivery,omitempty"`
}

// DeadLetterSink is the resolved address of Delivery's dead-letter sink,
// or nil.
func (c *Config) DeadLetterSink() *duckv1.Addressable {
	if c.Delivery == nil || c.Delivery.DeadLetterSink == nil || c.Delivery.DeadLetterSink.URI == nil {
		return nil
	}
	d := c.Delivery.DeadLetterSink
	return &duckv1.Addressable{URL: d.URI, CACerts: d.CACerts, Audience: d.Audience}
}

// EventListenerLabel is the label Tekton Triggers puts on the resources an
// EventListener creates; PipelineRuns pass it on to their TaskRuns.
const EventListenerLabel = "triggers.tekton.dev/eventlistener"

// Selector is the label selector of the TaskRuns to watch: LabelSelector,
// minus the TaskRuns of ExcludeEventListener. The adapter's watch applies it
// server-side, so excluded TaskRuns cost nothing.
func (c *Config) Selector() (labels.Selector, error) {
	sel, err := labels.Parse(c.LabelSelector)
	if err != nil {
		return nil, err
	}
	if c.ExcludeEventListener != "" {
		req, err := labels.NewRequirement(EventListenerLabel, selection.NotEquals, []string{c.ExcludeEventListener})
		if err != nil {
			return nil, err
		}
		sel = sel.Add(*req)
	}
	return sel, nil
}

// Encode returns the JSON form of the config.
func (c *Config) Encode() (string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// Decode parses a JSON config and checks it is usable.
func Decode(s string) (*Config, error) {
	c := &Config{}
	if err := json.Unmarshal([]byte(s), c); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", EnvName, err)
	}
	if c.SourceUID == "" || c.SourceName == "" || c.SourceNamespace == "" {
		return nil, fmt.Errorf("%s: sourceUID, sourceName and sourceNamespace are required", EnvName)
	}
	// The UID keys the checkpoints and names the progress journal ConfigMap.
	for _, msg := range validation.IsDNS1123Subdomain(c.SourceUID) {
		return nil, fmt.Errorf("%s: sourceUID %q: %s", EnvName, c.SourceUID, msg)
	}
	if !c.AllNamespaces && len(c.Namespaces) == 0 {
		return nil, fmt.Errorf("%s: no namespaces to watch (set allNamespaces or namespaces)", EnvName)
	}
	for _, msg := range validation.IsValidLabelValue(c.ExcludeEventListener) {
		return nil, fmt.Errorf("%s: excludeEventListener %q: %s", EnvName, c.ExcludeEventListener, msg)
	}
	if _, err := c.Selector(); err != nil {
		return nil, fmt.Errorf("%s: labelSelector: %w", EnvName, err)
	}
	if c.LogMaxBytes < 0 {
		return nil, fmt.Errorf("%s: logMaxBytes must not be negative, got %d", EnvName, c.LogMaxBytes)
	}
	if c.GuardDeadline != nil && c.GuardDeadline.Duration <= 0 {
		return nil, fmt.Errorf("%s: guardDeadline must be positive, got %s", EnvName, c.GuardDeadline.Duration)
	}
	if d := c.Delivery; d != nil && d.DeadLetterSink != nil && (d.DeadLetterSink.URI == nil || !d.DeadLetterSink.URI.URL().IsAbs() || d.DeadLetterSink.Ref != nil) {
		return nil, fmt.Errorf("%s: delivery.deadLetterSink must be a resolved absolute URI", EnvName)
	}
	return c, nil
}
