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
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/validation"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// EnvName is the environment variable that carries the JSON Config.
const EnvName = "K_SOURCE_CONFIG"

// EnvDeployment names the adapter's Deployment, whose ready replicas share
// the buckets (set with replicas).
const EnvDeployment = "K_ADAPTER_DEPLOYMENT"

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
	// Namespaces lists the namespaces to watch when AllNamespaces is
	// false, sorted (the controller sorts them, Decode too).
	Namespaces []string `json:"namespaces,omitempty"`
	// NamespacesFromStatus: the watched namespaces are the source's
	// status.namespaces, followed while the adapter runs (the controller
	// writes them once it confirmed that the account may read them), so a
	// namespace joining or leaving the selector restarts nothing.
	NamespacesFromStatus bool `json:"namespacesFromStatus,omitempty"`
	// ClusterWatch: the adapter's account may list and watch TaskRuns in
	// all namespaces, so one cluster-wide watch serves Namespaces (the
	// adapter keeps only theirs) instead of one watch per namespace: one
	// LIST and one WATCH however many namespaces the selector matches
	// (knative/eventing#8642: per-namespace LISTs throttled for minutes).
	ClusterWatch bool `json:"clusterWatch,omitempty"`

	// LabelSelector selects TaskRuns, in the string form of
	// metav1.FormatLabelSelector; empty selects everything.
	LabelSelector string `json:"labelSelector,omitempty"`

	// ExcludeEventListener is the recursion guard: the Tekton Triggers
	// EventListener that is the sink. The TaskRuns it created in its own
	// namespace (label triggers.tekton.dev/eventlistener=<name>) are not
	// watched; an EventListener of the same name elsewhere is another one.
	ExcludeEventListener *EventListenerRef `json:"excludeEventListener,omitempty"`

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

	// MaskPatterns are the token patterns (RE2) of the config-masking
	// ConfigMap, masked in every event besides the built-in ones.
	MaskPatterns []string `json:"maskPatterns,omitempty"`
	// MaskSecretValues is spec.masking.secretValues: the values of the
	// Secrets a step references are masked in its events.
	MaskSecretValues bool `json:"maskSecretValues,omitempty"`
	// MaskGrantsByName: the controller grants the adapter the TaskRun pods
	// and their Secrets by name as the pods appear (its per-source Role),
	// so a refused read may be the grant's short lag.
	MaskGrantsByName bool `json:"maskGrantsByName,omitempty"`

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

// EventListenerRef names an EventListener.
type EventListenerRef struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

// Watch is one TaskRun watch of the adapter: a namespace (empty: all) and
// the label and field selectors the apiserver applies, so TaskRuns outside
// them cost nothing.
type Watch struct {
	Namespace     string
	LabelSelector string
	FieldSelector string
}

// Watched reports whether the source watches the namespace's TaskRuns. A
// cluster-wide watch for a list of namespaces (ClusterWatch) also brings
// the others', which the adapter keeps out.
func (c *Config) Watched(namespace string) bool {
	if c.AllNamespaces {
		return true
	}
	_, found := slices.BinarySearch(c.Namespaces, namespace)
	return found
}

// Watches are the TaskRun watches that select exactly the source's
// TaskRuns (with ClusterWatch, of the Watched namespaces): LabelSelector
// in every watched namespace, minus the TaskRuns ExcludeEventListener
// created in its namespace. Cluster-wide with an excluded EventListener,
// that is two watches: its namespace with the exclusion, and every other
// namespace without it (a field selector), as a label selector alone
// cannot say "in that namespace only".
func (c *Config) Watches() ([]Watch, error) {
	sel, err := labels.Parse(c.LabelSelector)
	if err != nil {
		return nil, err
	}
	excluding := sel
	el := c.ExcludeEventListener
	if el != nil {
		req, err := labels.NewRequirement(EventListenerLabel, selection.NotEquals, []string{el.Name})
		if err != nil {
			return nil, err
		}
		excluding = sel.Add(*req)
	}
	if c.AllNamespaces || c.ClusterWatch {
		if el == nil || !c.Watched(el.Namespace) {
			return []Watch{{LabelSelector: sel.String()}}, nil
		}
		return []Watch{
			{Namespace: el.Namespace, LabelSelector: excluding.String()},
			{LabelSelector: sel.String(), FieldSelector: fields.OneTermNotEqualSelector("metadata.namespace", el.Namespace).String()},
		}, nil
	}
	out := make([]Watch, 0, len(c.Namespaces))
	for _, ns := range c.Namespaces {
		w := Watch{Namespace: ns, LabelSelector: sel.String()}
		if el != nil && ns == el.Namespace {
			w.LabelSelector = excluding.String()
		}
		out = append(out, w)
	}
	return out, nil
}

// NamespaceWatch is the watch of one namespace's TaskRuns, as Watches has
// it for each of Namespaces.
func (c *Config) NamespaceWatch(namespace string) (Watch, error) {
	one := *c
	one.AllNamespaces, one.ClusterWatch, one.Namespaces = false, false, []string{namespace}
	ws, err := one.Watches()
	if err != nil {
		return Watch{}, err
	}
	return ws[0], nil
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
	if !c.AllNamespaces && !c.NamespacesFromStatus && len(c.Namespaces) == 0 {
		return nil, fmt.Errorf("%s: no namespaces to watch (set allNamespaces, namespaces or namespacesFromStatus)", EnvName)
	}
	slices.Sort(c.Namespaces)
	if el := c.ExcludeEventListener; el != nil {
		for _, msg := range validation.IsValidLabelValue(el.Name) {
			return nil, fmt.Errorf("%s: excludeEventListener.name %q: %s", EnvName, el.Name, msg)
		}
		for _, msg := range validation.IsDNS1123Label(el.Namespace) {
			return nil, fmt.Errorf("%s: excludeEventListener.namespace %q: %s", EnvName, el.Namespace, msg)
		}
	}
	if _, err := c.Watches(); err != nil {
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
