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

package knplugin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/duration"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/kubernetes"
	"knative.dev/pkg/apis"

	"github.com/spf13/cobra"
	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// maxWarnings is how many recent Warning events describe shows.
const maxWarnings = 10

// outputFlag is kn's -o/--output with its companions (--template,
// --show-managed-fields, --allow-missing-template-keys): k8s.io/cli-runtime's
// print flags and printers, as kn and kubectl use them (json, yaml, name,
// jsonpath=..., go-template=..., templatefile=...; managed fields left out
// unless asked for).
type outputFlag struct {
	flags *genericclioptions.PrintFlags
	// printer is built once per command: the YAML printer separates the
	// documents it prints ("---"), so one apply -f of several sources
	// prints one stream.
	printer printers.ResourcePrinter
}

func (o *outputFlag) add(cmd *cobra.Command) {
	o.flags = genericclioptions.NewPrintFlags("").WithTypeSetter(printScheme)
	o.flags.AddFlags(cmd)
}

// given says whether -o (or --template) asks for a printed object.
func (o *outputFlag) given() bool {
	return o.flags.OutputFormat != nil && *o.flags.OutputFormat != "" ||
		o.flags.TemplatePrinterFlags != nil && o.flags.TemplatePrinterFlags.TemplateArgument != nil && *o.flags.TemplatePrinterFlags.TemplateArgument != ""
}

// validate refuses an output format cli-runtime has no printer for, before
// anything is written.
func (o *outputFlag) validate() error {
	if !o.given() {
		return nil
	}
	var err error
	o.printer, err = o.flags.ToPrinter()
	return err
}

func (o *outputFlag) print(w io.Writer, obj runtime.Object) error {
	if o.printer == nil {
		if err := o.validate(); err != nil {
			return err
		}
	}
	return o.printer.PrintObj(obj, w)
}

// printScheme knows the plugin's kinds, so the printers set each object's
// apiVersion and kind (the clients' objects come without them).
var printScheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(v1alpha1.AddToScheme(s))
	return s
}()

// printOr prints the object when -o was given, else the message.
func (o *outputFlag) printOr(w io.Writer, obj runtime.Object, format string, args ...interface{}) error {
	if o.given() {
		return o.print(w, obj)
	}
	_, err := fmt.Fprintf(w, format, args...)
	return err
}

func age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// readyColumns are kn's CONDITIONS, READY and REASON columns.
func readyColumns(s *v1alpha1.TektonStepSource) (conditions, ready, reason string) {
	ok := 0
	for _, c := range s.Status.Conditions {
		if c.Status == corev1.ConditionTrue {
			ok++
		}
	}
	conditions = fmt.Sprintf("%d OK / %d", ok, len(s.Status.Conditions))
	ready = "<unknown>"
	if c := s.Status.GetCondition(apis.ConditionReady); c != nil {
		ready = string(c.Status)
		if c.Status != corev1.ConditionTrue {
			reason = c.Reason
		}
	}
	return conditions, ready, reason
}

// listTable prints kn's source list columns: NAME, SINK, AGE, CONDITIONS,
// READY, REASON (NAMESPACE first with -A).
func listTable(w io.Writer, items []v1alpha1.TektonStepSource, allNamespaces, noHeaders bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	if !noHeaders {
		if allNamespaces {
			fmt.Fprint(tw, "NAMESPACE\t")
		}
		fmt.Fprintln(tw, "NAME\tSINK\tAGE\tCONDITIONS\tREADY\tREASON")
	}
	now := time.Now()
	for i := range items {
		s := &items[i]
		conditions, ready, reason := readyColumns(s)
		if allNamespaces {
			fmt.Fprintf(tw, "%s\t", s.Namespace)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, SinkString(s.Spec.Sink, s.Namespace),
			age(s.CreationTimestamp, now), conditions, ready, reason)
	}
	return tw.Flush()
}

// recentWarnings returns the newest Warning events about the source.
func recentWarnings(ctx context.Context, kube kubernetes.Interface, namespace string, uid types.UID) ([]corev1.Event, error) {
	list, err := kube.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{
		FieldSelector: fields.AndSelectors(
			fields.OneTermEqualSelector("involvedObject.uid", string(uid)),
			fields.OneTermEqualSelector("type", corev1.EventTypeWarning),
		).String(),
	})
	if err != nil {
		return nil, fmt.Errorf("cannot list the events of the source: %w", err)
	}
	events := list.Items
	sort.SliceStable(events, func(i, j int) bool { return lastSeen(events[i]).After(lastSeen(events[j])) })
	if len(events) > maxWarnings {
		events = events[:maxWarnings]
	}
	return events, nil
}

func lastSeen(e corev1.Event) time.Time {
	switch {
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

// describe prints the source the way kn describes sources: labels and
// annotations as kn's WriteMapDesc shows them (without kn's, Knative
// Serving's and kubectl's own keys, cut at 100 characters; everything with
// --verbose).
func describe(w io.Writer, s *v1alpha1.TektonStepSource, warnings []corev1.Event, verbose bool) error {
	now := time.Now()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(indent int, label, value string) {
		fmt.Fprintf(tw, "%s%s:\t%s\n", strings.Repeat("  ", indent), label, value)
	}
	row(0, "Name", s.Name)
	row(0, "Namespace", s.Namespace)
	for _, m := range []struct {
		label  string
		values map[string]string
	}{{"Labels", s.Labels}, {"Annotations", s.Annotations}} {
		if v := mapDesc(m.values, verbose); v != "" {
			row(0, m.label, v)
		}
	}
	row(0, "Age", age(s.CreationTimestamp, now))
	// Where its logs are: the name is cut and hashed for long source names.
	row(0, "Adapter", "deployment/"+adaptercontract.AdapterName(s.Name))
	row(0, "Service Account", orNone(s.Spec.ServiceAccountName))
	switch {
	case s.Spec.NamespaceSelector == nil:
		row(0, "Namespace Selector", "<none> (only "+s.Namespace+")")
	default:
		row(0, "Namespace Selector", selectorString(s.Spec.NamespaceSelector, "<all namespaces>"))
	}
	row(0, "Selector", selectorString(s.Spec.Selector, "<all TaskRuns>"))
	if s.Spec.Log != nil && s.Spec.Log.MaxBytes != nil {
		row(0, "Log Max Bytes", fmt.Sprint(*s.Spec.Log.MaxBytes))
	} else {
		row(0, "Log Max Bytes", fmt.Sprintf("<default> (%d)", v1alpha1.DefaultLogMaxBytes))
	}
	replicas := v1alpha1.DefaultReplicas
	if s.Spec.Replicas != nil {
		replicas = *s.Spec.Replicas
	}
	row(0, "Replicas", fmt.Sprint(replicas))
	if s.Spec.IncludeSinkTriggeredRuns {
		row(0, "Recursion Guard", "off (includeSinkTriggeredRuns)")
	}
	if s.Spec.MasksSecretValues() {
		row(0, "Secret Values", "masked")
	}
	if len(s.Spec.Filters) > 0 {
		b, _ := json.Marshal(s.Spec.Filters)
		row(0, "Filters", string(b))
	}
	fmt.Fprintln(tw, "")
	fmt.Fprintln(tw, "Sink:\t")
	if ref := s.Spec.Sink.Ref; ref != nil {
		row(1, "Name", ref.Name)
		if ref.Namespace != "" && ref.Namespace != s.Namespace {
			row(1, "Namespace", ref.Namespace)
		}
		row(1, "Resource", fmt.Sprintf("%s (%s)", ref.Kind, ref.APIVersion))
	}
	if s.Spec.Sink.URI != nil {
		row(1, "URI", s.Spec.Sink.URI.String())
	}
	if s.Status.SinkURI != nil {
		row(0, "Sink URI", s.Status.SinkURI.String())
	} else {
		row(0, "Sink URI", "<not resolved yet>")
	}
	if a := s.Status.SinkAudience; a != nil && *a != "" {
		row(0, "Sink Audience", *a)
	}
	// The identity a sink sees with Knative's OIDC on (status.auth).
	if a := s.Status.Auth; a != nil && a.ServiceAccountName != nil {
		row(0, "OIDC Identity", "system:serviceaccount:"+s.Namespace+":"+*a.ServiceAccountName)
	}
	if g := s.Spec.DeletionGuard; g != nil {
		deadline := fmt.Sprintf("<default> (%s)", v1alpha1.DefaultGuardDeadline)
		if g.Deadline != nil {
			deadline = g.Deadline.Duration.String()
		}
		row(0, "Deletion Guard", "on, deadline "+deadline)
	}
	if d := s.Spec.Delivery; d != nil {
		fmt.Fprintln(tw, "")
		fmt.Fprintln(tw, "Delivery:\t")
		if d.DeadLetterSink != nil {
			row(1, "Dead Letter Sink", SinkString(*d.DeadLetterSink, s.Namespace))
			if s.Status.DeadLetterSinkURI != nil {
				row(1, "Dead Letter Sink URI", s.Status.DeadLetterSinkURI.String())
			} else {
				row(1, "Dead Letter Sink URI", "<not resolved yet>")
			}
		}
		if d.Retry != nil {
			row(1, "Retry", fmt.Sprint(*d.Retry))
		} else {
			row(1, "Retry", "<until accepted>")
		}
		optional := func(name string, v *string) {
			if v != nil {
				row(1, name, *v)
			}
		}
		if d.BackoffPolicy != nil {
			row(1, "Backoff Policy", string(*d.BackoffPolicy))
		}
		optional("Backoff Delay", d.BackoffDelay)
		optional("Timeout", d.Timeout)
		optional("Retry After Max", d.RetryAfterMax)
	}
	if s.Spec.CloudEventOverrides != nil && len(s.Spec.CloudEventOverrides.Extensions) > 0 {
		fmt.Fprintln(tw, "")
		fmt.Fprintln(tw, "CloudEvent Overrides:\t")
		for _, k := range sortedKeys(s.Spec.CloudEventOverrides.Extensions) {
			row(1, k, s.Spec.CloudEventOverrides.Extensions[k])
		}
	}
	fmt.Fprintln(tw, "")
	if len(s.Status.Namespaces) > 0 {
		row(0, "Watched Namespaces", strings.Join(s.Status.Namespaces, ", "))
	} else {
		row(0, "Watched Namespaces", "<none reported yet>")
	}
	if len(s.Spec.Replays) > 0 {
		fmt.Fprintln(tw, "")
		fmt.Fprintln(tw, "Replays:\t")
		for _, r := range s.Spec.Replays {
			row(1, r.Name, replayLine(r, s.Status.Replays))
		}
	}
	if len(s.Status.CloudEventAttributes) > 0 {
		fmt.Fprintln(tw, "")
		fmt.Fprintln(tw, "Event Types:\t")
		for _, a := range s.Status.CloudEventAttributes {
			fmt.Fprintf(tw, "  %s\t%s\n", a.Type, a.Source)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w, "")
	fmt.Fprintln(w, "Conditions:")
	ct := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(ct, "  OK\tTYPE\tAGE\tREASON\tMESSAGE")
	conds := append(apis.Conditions(nil), s.Status.Conditions...)
	sort.SliceStable(conds, func(i, j int) bool {
		// Ready first, as kn does.
		return conds[i].Type == apis.ConditionReady && conds[j].Type != apis.ConditionReady
	})
	for _, c := range conds {
		fmt.Fprintf(ct, "  %s\t%s\t%s\t%s\t%s\n", conditionMark(c), c.Type, age(c.LastTransitionTime.Inner, now), c.Reason, c.Message)
	}
	if err := ct.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w, "")
	if len(warnings) == 0 {
		fmt.Fprintln(w, "Recent Warning Events: <none>")
		return nil
	}
	fmt.Fprintln(w, "Recent Warning Events:")
	et := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(et, "  LAST SEEN\tREASON\tCOUNT\tMESSAGE")
	for _, e := range warnings {
		count := e.Count
		if e.Series != nil {
			count = e.Series.Count
		}
		if count == 0 {
			count = 1
		}
		fmt.Fprintf(et, "  %s\t%s\t%d\t%s\n", duration.HumanDuration(now.Sub(lastSeen(e))), e.Reason, count, strings.TrimSpace(e.Message))
	}
	return et.Flush()
}

// conditionMark is kn's OK column: ++ true, !! false (error), W false
// (warning), ?? unknown.
func conditionMark(c apis.Condition) string {
	switch c.Status {
	case corev1.ConditionTrue:
		return "++"
	case corev1.ConditionFalse:
		if c.Severity == apis.ConditionSeverityWarning {
			return " W"
		}
		return "!!"
	}
	return "??"
}

func selectorString(sel *metav1.LabelSelector, empty string) string {
	if sel == nil {
		return empty
	}
	s := metav1.FormatLabelSelector(sel)
	if s == "" || s == "<none>" {
		return empty
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "<none> (a per-source account)"
	}
	return s
}

// hiddenKeyPrefixes are the keys kn's describe leaves out unless verbose.
var hiddenKeyPrefixes = []string{"kubectl.kubernetes.io/", "serving.knative.dev/", "client.knative.dev/"}

// mapDesc is a label or annotation map as kn's describe shows it.
func mapDesc(m map[string]string, verbose bool) string {
	shown := map[string]string{}
	for k, v := range m {
		if verbose || !slices.ContainsFunc(hiddenKeyPrefixes, func(p string) bool { return strings.HasPrefix(k, p) }) {
			shown[k] = v
		}
	}
	s := joinMap(shown)
	if !verbose && len(s) > 100 {
		s = s[:97] + "..."
	}
	return s
}

func joinMap(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ", ")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// replayLine describes a replay of spec.replays with its status.
func replayLine(r v1alpha1.ReplaySpec, status []v1alpha1.ReplayStatus) string {
	window := describeReplay(r)
	state := string(v1alpha1.ReplayPending)
	for _, st := range status {
		if st.Name == r.Name {
			state = string(st.State)
			if st.State == v1alpha1.ReplaySucceeded {
				state += fmt.Sprintf(" (%d events of %d TaskRuns)", st.Events, st.TaskRuns)
			}
		}
	}
	return window + ": " + state
}
