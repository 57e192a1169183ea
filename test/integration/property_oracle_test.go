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

package integration

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/antlr/antlr4/runtime/Go/antlr"
	sqlerrors "github.com/cloudevents/sdk-go/sql/v2/errors"
	cesqlgen "github.com/cloudevents/sdk-go/sql/v2/gen"
	cesqlparser "github.com/cloudevents/sdk-go/sql/v2/parser"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/go-cmp/cmp"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/eventing/pkg/eventfilter/attributes"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/events"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// verdict is what the filters should do with an event, as the Trigger
// filter documentation defines them: pass it or not, why, and what makes
// the filters unusable (the validation should have refused them).
type verdict struct {
	pass     bool
	why      string
	unusable string
}

// expectedVerdict evaluates the filters on the event independently of
// Knative's implementation: all of them must match. exact, prefix and
// suffix compare attributes as Knative renders them (LookupAttribute);
// all, any and not combine their filters as their names say; a CESQL
// expression matches when it evaluates to true, and does not when its
// evaluation fails on this event (Trigger semantics: a cast that fails on
// a value is no match).
func expectedVerdict(filters []eventingv1.SubscriptionsAPIFilter, e cloudevents.Event) verdict {
	return all(filters, e, "filters")
}

func all(filters []eventingv1.SubscriptionsAPIFilter, e cloudevents.Event, path string) verdict {
	for i := range filters {
		if v := one(&filters[i], e, fmt.Sprintf("%s[%d]", path, i)); !v.pass || v.unusable != "" {
			return v
		}
	}
	return verdict{pass: true}
}

func one(f *eventingv1.SubscriptionsAPIFilter, e cloudevents.Event, path string) verdict {
	switch {
	case len(f.Exact) > 0:
		return compare(f.Exact, e, path+".exact", func(s, v string) bool { return s == v })
	case len(f.Prefix) > 0:
		return compare(f.Prefix, e, path+".prefix", strings.HasPrefix)
	case len(f.Suffix) > 0:
		return compare(f.Suffix, e, path+".suffix", strings.HasSuffix)
	case len(f.All) > 0:
		return all(f.All, e, path+".all")
	case len(f.Any) > 0:
		var why []string
		for i := range f.Any {
			v := one(&f.Any[i], e, fmt.Sprintf("%s.any[%d]", path, i))
			if v.pass || v.unusable != "" {
				return v
			}
			why = append(why, v.why)
		}
		return verdict{why: strings.Join(why, "; ")}
	case f.Not != nil:
		v := one(f.Not, e, path+".not")
		return verdict{pass: !v.pass, why: path + ": its filter matches", unusable: v.unusable}
	case f.CESQL != "":
		return evaluate(f.CESQL, e, path+".cesql")
	}
	return verdict{unusable: path + " has no dialect: it means nothing, and Knative skips it (inside not, it lets every event through)"}
}

func compare(m map[string]string, e cloudevents.Event, path string, match func(s, v string) bool) verdict {
	for name, want := range m {
		if want == "" {
			return verdict{unusable: path + "." + name + " is empty: Knative skips the filter"}
		}
		got, ok := attributes.LookupAttribute(e, name)
		if !ok {
			return verdict{why: fmt.Sprintf("%s: the event has no %s", path, name)}
		}
		if !match(fmt.Sprint(got), want) {
			return verdict{why: fmt.Sprintf("%s: %s is %q", path, name, fmt.Sprint(got))}
		}
	}
	return verdict{pass: true}
}

func evaluate(expr string, e cloudevents.Event, path string) (v verdict) {
	defer func() {
		if r := recover(); r != nil {
			v = verdict{unusable: fmt.Sprintf("%s: %q panics on the event: %v", path, expr, r)}
		}
	}()
	var skipped lexerSkips
	lexer := cesqlgen.NewCESQLParserLexer(cesqlparser.NewCaseChangingStream(antlr.NewInputStream(expr), true))
	lexer.RemoveErrorListeners()
	lexer.AddErrorListener(&skipped)
	lexer.GetAllTokens()
	if skipped.n > 0 {
		return verdict{unusable: fmt.Sprintf("%s: CESQL's lexer skips %d characters of %q", path, skipped.n, expr)}
	}
	parsed, err := cesqlparser.Parse(expr)
	if err != nil {
		return verdict{unusable: fmt.Sprintf("%s: %q does not parse: %v", path, expr, err)}
	}
	value, err := parsed.Evaluate(e)
	switch {
	case sqlerrors.IsMissingAttributeError(err) && !slices.Contains(contractAttributes, strings.TrimPrefix(err.Error(), "missing attribute error: ")):
		return verdict{unusable: fmt.Sprintf("%s: %q reads an attribute no event has: %v", path, expr, err)}
	case sqlerrors.IsMissingFunctionError(err):
		return verdict{unusable: fmt.Sprintf("%s: %q: %v", path, expr, err)}
	case reflect.TypeOf(value) != reflect.TypeOf(true):
		return verdict{unusable: fmt.Sprintf("%s: %q is %T, no condition", path, expr, value)}
	case err != nil:
		return verdict{why: fmt.Sprintf("%s: %q fails on the event: %v", path, expr, err)}
	case !value.(bool):
		return verdict{why: fmt.Sprintf("%s: %q is false", path, expr)}
	}
	return verdict{pass: true}
}

// lexerSkips counts the characters a CESQL lexer skips.
type lexerSkips struct {
	antlr.DefaultErrorListener
	n int
}

func (l *lexerSkips) SyntaxError(antlr.Recognizer, interface{}, int, int, string, antlr.RecognitionException) {
	l.n++
}

// TestFilterSampleEventMatchesTheContract checks the event the validation
// checks filters against (v1alpha1.FilterSampleEvent) against the events
// the adapter builds: a TaskRun with every label the extensions come from,
// replayed, has the same attributes with the same types. A new extension
// the sample lacked would make the validation refuse filters on it.
func TestFilterSampleEventMatchesTheContract(t *testing.T) {
	tr := fullTaskRun()
	ts := transitions.ForTaskRun(tr, time.Time{})
	if len(ts) == 0 {
		t.Fatal("the TaskRun has no transitions")
	}
	e, err := events.New(tr, ts[0], nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.SetExtension(events.ExtReplay, "backfill")
	sample := v1alpha1.FilterSampleEvent()
	if diff := cmp.Diff(attributeTypes(e), attributeTypes(sample)); diff != "" {
		t.Errorf("attributes of an event (-) and of the validation's sample (+):\n%s", diff)
	}
	var names []string
	for name := range attributeTypes(e) {
		names = append(names, name)
	}
	sort.Strings(names)
	want := append([]string(nil), contractAttributes...)
	sort.Strings(want)
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("the property test's contractAttributes (-) and an event's (+):\n%s", diff)
	}
}

// attributeTypes maps the name of each attribute the event has to its Go
// type, as filters see it.
func attributeTypes(e cloudevents.Event) map[string]string {
	out := map[string]string{}
	for _, name := range []string{"id", "source", "specversion", "type", "subject", "time", "dataschema", "datacontenttype"} {
		if v, ok := attributes.LookupAttribute(e, name); ok && fmt.Sprint(v) != "" {
			out[name] = fmt.Sprintf("%T", v)
		}
	}
	for name, v := range e.Extensions() {
		out[name] = fmt.Sprintf("%T", v)
	}
	return out
}

// fullTaskRun is a TaskRun of a PipelineRun (its controller) with every
// label an extension comes from, and one started step.
func fullTaskRun() *pipelinev1.TaskRun {
	return &pipelinev1.TaskRun{
		ObjectMeta: metav1.ObjectMeta{Name: "build-42", Namespace: "ci", UID: "u", Labels: map[string]string{
			"tekton.dev/task": "build", "tekton.dev/pipelineRun": "release-42", "tekton.dev/pipeline": "release",
			"tekton.dev/pipelineTask": "build",
		}, OwnerReferences: []metav1.OwnerReference{pipelineRunOwner("release-42")}},
		Status: pipelinev1.TaskRunStatus{TaskRunStatusFields: pipelinev1.TaskRunStatusFields{
			PodName: "build-42-pod",
			Steps: []pipelinev1.StepState{{Name: "compile", Container: "step-compile", ContainerState: corev1.ContainerState{
				Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))},
			}}},
		}},
	}
}

// pipelineRunOwner is the owner reference Tekton puts on the TaskRuns of a
// PipelineRun.
func pipelineRunOwner(name string) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: "tekton.dev/v1", Kind: "PipelineRun", Name: name, UID: "pr", Controller: ptrTo(true)}
}
