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
	"sort"
	"strings"
	"time"

	"github.com/antlr/antlr4/runtime/Go/antlr"
	cesql "github.com/cloudevents/sdk-go/sql/v2"
	sqlerrors "github.com/cloudevents/sdk-go/sql/v2/errors"
	"github.com/cloudevents/sdk-go/sql/v2/gen"
	cesqlparser "github.com/cloudevents/sdk-go/sql/v2/parser"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/eventing/pkg/eventfilter/attributes"
	"knative.dev/pkg/apis"
)

// FilterSampleEvent is an event as the adapter's filters see it (before
// ceOverrides are added at sending), carrying every attribute an event of a
// TektonStepSource can carry, each with the type the event contract gives
// it: the optional extensions (tektontask, the pipeline ones, replay) are
// there too. The filters are checked against it: the type of a CESQL
// expression's result depends only on the types of the attributes it
// reads, and an attribute it lacks is one no event carries. The extension
// names are those of pkg/adapter/events, which imports this package; the
// integration test TestFilterSampleEventMatchesTheContract checks that the
// two agree.
func FilterSampleEvent() cloudevents.Event {
	e := cloudevents.NewEvent()
	e.SetID("0f6c5a4e-1b2d-4c3e-8f9a-123456789abc.0.compile.started")
	e.SetType(StepStartedEventType)
	e.SetSource(TaskRunEventSource("ci", "build-42"))
	e.SetSubject("compile")
	e.SetDataSchema(StepEventDataSchema)
	e.SetTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	for name, value := range map[string]interface{}{
		"tektontaskrun":      "build-42",
		"tektontask":         "build",
		"tektonpipelinerun":  "release-42",
		"tektonpipeline":     "release",
		"tektonpipelinetask": "build",
		"tektonstep":         "compile",
		"tektonnamespace":    "ci",
		"tektonattempt":      int32(0),
		"sequence":           "00000-00000-0",
		"partitionkey":       "ci/build-42",
		"replay":             "backfill",
	} {
		e.SetExtension(name, value)
	}
	// The data is JSON, so datacontenttype is set as on every event.
	_ = e.SetData(cloudevents.ApplicationJSON, map[string]string{})
	return e
}

// filterSample is FilterSampleEvent, built once: evaluating an expression
// only reads it.
var filterSample = FilterSampleEvent()

// filterAttributes lists the attributes filters can match, for messages.
var filterAttributes = func() string {
	names := []string{"id", "source", "specversion", "type", "subject", "time", "dataschema", "datacontenttype"}
	ext := make([]string, 0, len(filterSample.Extensions()))
	for name := range filterSample.Extensions() {
		ext = append(ext, name)
	}
	sort.Strings(ext)
	return strings.Join(append(names, ext...), ", ")
}()

// afterFiltering says why an attribute missing from filterSample may still
// be on the events a sink receives.
const afterFiltering = " (ceOverrides extensions are added after the filters)"

// validateFilters applies Knative's Trigger filter validation to each filter
// and checks what Knative's cannot know (which attributes the source's
// events carry, and that a CESQL expression is a condition) and what its
// implementation mishandles (empty filters and values). It walks the tree
// itself also to keep a field path on the "multiple dialects" error, which
// Knative's ValidateSubscriptionAPIFilter reports without one.
func validateFilters(ctx context.Context, filters []eventingv1.SubscriptionsAPIFilter) *apis.FieldError {
	var errs *apis.FieldError
	for i := range filters {
		errs = errs.Also(validateFilter(ctx, &filters[i]).ViaIndex(i))
	}
	return errs
}

func validateFilter(ctx context.Context, f *eventingv1.SubscriptionsAPIFilter) *apis.FieldError {
	if f == nil {
		return nil
	}
	var errs *apis.FieldError
	if err := eventingv1.ValidateOneOf(f); err != nil {
		errs = apis.ErrGeneric(err.Message, apis.CurrentField)
	}
	if len(f.Exact) == 0 && len(f.Prefix) == 0 && len(f.Suffix) == 0 && len(f.All) == 0 && len(f.Any) == 0 && f.Not == nil && f.CESQL == "" {
		// Knative skips such a filter, lets every event through a not of
		// one, and panics cleaning that not up when the adapter stops.
		errs = &apis.FieldError{Message: "empty filter", Paths: []string{apis.CurrentField},
			Details: "a filter needs one of exact, prefix, suffix, all, any, not or cesql"}
	}
	// The lexer check comes first: the parser Knative's check runs prints
	// what its lexer skips.
	cesqlErr := validateCESQLCharacters(f.CESQL)
	if cesqlErr == nil {
		cesqlErr = eventingv1.ValidateCESQLExpression(ctx, f.CESQL)
	}
	if cesqlErr == nil {
		cesqlErr = validateCESQLResult(f.CESQL)
	}
	return errs.Also(
		validateAttributeFilter(f.Exact).ViaField("exact"),
		validateAttributeFilter(f.Prefix).ViaField("prefix"),
		validateAttributeFilter(f.Suffix).ViaField("suffix"),
		validateFilters(ctx, f.All).ViaField("all"),
		validateFilters(ctx, f.Any).ViaField("any"),
		validateFilter(ctx, f.Not).ViaField("not"),
		cesqlErr.ViaField("cesql"),
	)
}

// validateAttributeFilter checks an exact, prefix or suffix filter: Knative's
// check of the attribute names, then that each attribute is one the events
// carry (else the filter matches nothing) and that each value is set
// (Knative skips a filter with an empty value, which then matches
// everything).
func validateAttributeFilter(m map[string]string) *apis.FieldError {
	errs := eventingv1.ValidateAttributesNames(m)
	if errs != nil {
		return errs
	}
	for name, value := range m {
		if _, ok := attributes.LookupAttribute(filterSample, name); !ok {
			errs = errs.Also(apis.ErrInvalidKeyName(name, apis.CurrentField,
				"the source's events carry no such attribute, so the filter would drop every event; they carry "+filterAttributes+afterFiltering))
		}
		if value == "" {
			errs = errs.Also(apis.ErrInvalidValue(`""`, name,
				"a value is required: Knative skips a filter with an empty value, so it would let every event through"))
		}
	}
	return errs
}

// validateCESQLCharacters refuses a CESQL expression with characters its
// lexer does not recognise: the lexer skips them, and the parser
// never learns of it, so "tektonstep = 'x' é" would filter as
// "tektonstep = 'x'" (and each parse, in the controller and every adapter,
// would print the lexer's complaint).
func validateCESQLCharacters(expr string) *apis.FieldError {
	if expr == "" {
		return nil
	}
	lexer := gen.NewCESQLParserLexer(cesqlparser.NewCaseChangingStream(antlr.NewInputStream(expr), true))
	lexer.RemoveErrorListeners()
	complaints := &lexerComplaints{DefaultErrorListener: antlr.NewDefaultErrorListener()}
	lexer.AddErrorListener(complaints)
	lexer.GetAllTokens()
	if len(complaints.messages) == 0 {
		return nil
	}
	return apis.ErrInvalidValue(expr, apis.CurrentField, strings.Join(complaints.messages, "; "))
}

// lexerComplaints collects the syntax errors of a lexer.
type lexerComplaints struct {
	*antlr.DefaultErrorListener
	messages []string
}

func (c *lexerComplaints) SyntaxError(_ antlr.Recognizer, _ interface{}, _, column int, msg string, _ antlr.RecognitionException) {
	c.messages = append(c.messages, fmt.Sprintf("column %d: %s", column+1, msg))
}

// validateCESQLResult evaluates a CESQL expression that parses on
// filterSample and refuses what the adapter could not use: a result that is
// not a Boolean (Knative's CESQL filter asserts that it is one, and panics
// on an event where it is not), a reference to an attribute no event
// carries or to a function CESQL lacks (the filter would drop every event
// that reaches it), and an expression whose evaluation panics.
func validateCESQLResult(expr string) *apis.FieldError {
	if expr == "" {
		return nil
	}
	value, panicked, err := evaluateOnSample(expr)
	var why string
	switch {
	case panicked != nil:
		why = fmt.Sprintf("evaluating it on an event fails (%v)", panicked)
	case sqlerrors.IsMissingAttributeError(err):
		why = fmt.Sprintf("%v: the source's events carry no such attribute, so the filter would drop every event; they carry %s%s",
			err, filterAttributes, afterFiltering)
	case sqlerrors.IsMissingFunctionError(err):
		why = fmt.Sprintf("%v: CESQL has no function of that name taking that many arguments", err)
	case !cesql.BooleanType.IsSameType(value):
		why = fmt.Sprintf("a filter must be a condition (such as tektonstep = 'build' or EXISTS tektonpipeline), "+
			"and this expression's value is %s, not a Boolean", typeName(value))
	default:
		return nil
	}
	return apis.ErrInvalidValue(expr, apis.CurrentField, why)
}

// evaluateOnSample parses and evaluates expr on filterSample. Every CESQL
// expression but a bare attribute evaluates to a value of its own type
// even when it fails (the zero value, with the error), so value has the
// type the expression has on every event.
func evaluateOnSample(expr string) (value, panicked interface{}, err error) {
	defer func() {
		if r := recover(); r != nil {
			panicked = r
		}
	}()
	parsed, err := cesqlparser.Parse(expr)
	if err != nil {
		return nil, nil, err
	}
	value, err = parsed.Evaluate(filterSample)
	return value, nil, err
}

// typeName names the CESQL type of a value, with its article.
func typeName(value interface{}) string {
	if t := cesql.TypeFromVal(value); t != cesql.IntegerType {
		return "a " + t.String()
	}
	return "an Integer"
}
