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

// Package contract checks the step events a receiver got against the event
// contract docs/events.md promises ("The event contract"), whatever scenario
// produced them: every end-to-end and fault test runs it over what its
// receiver received. It is written from docs/events.md and the published data
// schema, not from the adapter's code (it imports nothing of pkg/), so a
// change to how the adapter builds events cannot change what it checks.
package contract

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

// Options says what the scenario allows.
type Options struct {
	// Complete: no filter, and every TaskRun in the stream finished before
	// the events were read, so every step of every attempt seen has its
	// events: started and a terminal event, or skipped.
	Complete bool
	// Redelivered allows an event to arrive again with the same id (at
	// least once, after a crash); it must then be the same transition
	// (the id holds its type; the sequence the same).
	Redelivered bool
	// LogMaxBytes is the sources' spec.log.maxBytes (0: the default, 64 KiB).
	LogMaxBytes int
	// Stream tells apart the events of several sources sending to one
	// receiver (each source's events are one stream); nil: one stream.
	Stream func(cloudevents.Event) string
}

// The contract's fixed parts, as docs/events.md states them.
const (
	typePrefix      = "dev.tekton.event.step."
	typeSuffix      = ".v1"
	defaultLogBytes = 64 * 1024
)

var (
	kinds = map[string]bool{"started": true, "succeeded": true, "failed": true, "skipped": true}
	// CloudEvents 1.0: extension names are lower-case ASCII letters and
	// digits, and should be at most 20 characters.
	extensionName = regexp.MustCompile(`^[a-z0-9]{1,20}$`)
	// <attempt>-<step index>-<0 started, 1 terminal>, zero-padded to five.
	sequenceForm = regexp.MustCompile(`^([0-9]{5})-([0-9]{5})-([01])$`)
	uidForm      = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	// Extensions every event carries.
	required = []string{"tektontaskrun", "tektonstep", "tektonnamespace", "tektonattempt", "sequence", "partitionkey"}
)

// Check returns every way the events break the contract; none when they
// keep it. The events are in arrival order.
func Check(events []cloudevents.Event, opts Options) []error {
	if _, _, err := PublishedSchema(); err != nil {
		return []error{fmt.Errorf("the published schema %s: %w", schemaFile, err)}
	}
	var errs []error
	fail := func(e cloudevents.Event, format string, args ...any) {
		errs = append(errs, fmt.Errorf("event %s: %s", e.ID(), fmt.Sprintf(format, args...)))
	}
	runs := map[string]*run{}
	replays := map[string]bool{}
	var order []string
	first := map[string]parsed{}
	for _, e := range events {
		p, ok := parse(e, opts, fail)
		if !ok {
			continue
		}
		key := p.stream + " " + e.Source() + " " + p.uid
		if replay := ext(e, "replay"); replay != "" {
			// A replay re-sends events with their ids: the same
			// transitions, in order among themselves, a stream of their
			// own that its window may cut.
			if live, seen := first[key+" "+e.ID()]; seen && live.sequence != p.sequence {
				fail(e, "replayed as a different transition (sequence %s, live %s)", p.sequence, live.sequence)
			}
			key += " replay " + replay
			replays[key] = true
		}
		if prev, seen := first[key+" "+e.ID()]; seen {
			if !opts.Redelivered {
				fail(e, "delivered twice")
			} else if prev.sequence != p.sequence {
				// The id holds the type; time and data may differ: an
				// event sent again after a restart is rebuilt from the
				// TaskRun's status as it is then (a running step's start
				// is rewritten once it ends).
				fail(e, "redelivered as a different transition (sequence %s, first %s)", p.sequence, prev.sequence)
			}
			continue
		}
		first[key+" "+e.ID()] = p
		r := runs[key]
		if r == nil {
			r = &run{source: e.Source(), steps: map[[2]int]*step{}}
			runs[key] = r
			order = append(order, key)
		}
		r.add(p, fail)
	}
	for _, key := range order {
		errs = append(errs, runs[key].check(opts.Complete && !replays[key])...)
	}
	return errs
}

// Verify reports to t every way the events break the contract (the first
// 20 of them: one broken rule tends to break it for every event).
func Verify(t testing.TB, events []cloudevents.Event, opts Options) {
	t.Helper()
	errs := Check(events, opts)
	for i, err := range errs {
		if i == 20 {
			t.Errorf("the event contract: %d more", len(errs)-i)
			break
		}
		t.Errorf("the event contract: %v", err)
	}
}

// parsed is what the checks need of one event.
type parsed struct {
	event    cloudevents.Event
	stream   string
	uid      string
	kind     string
	step     string
	attempt  int
	index    int
	sequence string
	time     time.Time
}

// stepData is the part of data the checks read beyond the schema.
type stepData struct {
	TaskRun struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
		UID       string `json:"uid"`
		Attempt   int    `json:"attempt"`
	} `json:"taskRun"`
	Step *struct {
		Name string `json:"name"`
	} `json:"step"`
	StepState struct {
		Name       string `json:"name"`
		Terminated *struct {
			ExitCode   *int    `json:"exitCode"`
			StartedAt  *string `json:"startedAt"`
			FinishedAt *string `json:"finishedAt"`
		} `json:"terminated"`
	} `json:"stepState"`
	Reason    string  `json:"reason"`
	Continued bool    `json:"continued"`
	Log       *string `json:"log"`
}

// parse checks what one event alone must satisfy.
func parse(e cloudevents.Event, opts Options, fail func(cloudevents.Event, string, ...any)) (parsed, bool) {
	if err := e.Validate(); err != nil {
		fail(e, "not a valid CloudEvent: %v", err)
		return parsed{}, false
	}
	if e.SpecVersion() != cloudevents.VersionV1 {
		fail(e, "specversion %s", e.SpecVersion())
	}
	p := parsed{event: e, step: e.Subject(), sequence: ext(e, "sequence"), time: e.Time()}
	if opts.Stream != nil {
		p.stream = opts.Stream(e)
	}
	kind, ok := kindOf(e.Type())
	if !ok {
		fail(e, "type %s is none of the four", e.Type())
		return parsed{}, false
	}
	p.kind = kind
	for name := range e.Extensions() {
		if !extensionName.MatchString(name) {
			fail(e, "extension name %q is not 1-20 lower-case letters and digits", name)
		}
	}
	for _, name := range required {
		if ext(e, name) == "" {
			fail(e, "no %s extension", name)
		}
	}
	ns, name := ext(e, "tektonnamespace"), ext(e, "tektontaskrun")
	if want := "/apis/tekton.dev/v1/namespaces/" + ns + "/taskruns/" + name; e.Source() != want {
		fail(e, "source %s, want %s", e.Source(), want)
	}
	if pk := ext(e, "partitionkey"); pk != ns+"/"+name {
		fail(e, "partitionkey %q, want %s/%s", pk, ns, name)
	}
	if p.step == "" || ext(e, "tektonstep") != p.step {
		fail(e, "subject %q and tektonstep %q differ", p.step, ext(e, "tektonstep"))
	}
	if e.Time().IsZero() {
		fail(e, "no time")
	}
	var err error
	if p.attempt, err = strconv.Atoi(ext(e, "tektonattempt")); err != nil || p.attempt < 0 {
		fail(e, "tektonattempt %q is not a number", ext(e, "tektonattempt"))
	}
	m := sequenceForm.FindStringSubmatch(p.sequence)
	if m == nil {
		fail(e, "sequence %q is not <attempt>-<index>-<0|1>", p.sequence)
		return parsed{}, false
	}
	p.index, _ = strconv.Atoi(m[2])
	if a, _ := strconv.Atoi(m[1]); a != p.attempt {
		fail(e, "sequence %s is of attempt %d, tektonattempt %d", p.sequence, a, p.attempt)
	}
	if (m[3] == "0") != (kind == "started") {
		fail(e, "sequence %s ends in %s for a %s event", p.sequence, m[3], kind)
	}
	d, ok := checkData(e, opts, fail)
	if !ok {
		return parsed{}, false
	}
	p.uid = d.TaskRun.UID
	if d.TaskRun.Name != name || d.TaskRun.Namespace != ns || d.TaskRun.Attempt != p.attempt {
		fail(e, "data.taskRun %s/%s attempt %d, extensions %s/%s attempt %d",
			d.TaskRun.Namespace, d.TaskRun.Name, d.TaskRun.Attempt, ns, name, p.attempt)
	}
	if !uidForm.MatchString(p.uid) {
		fail(e, "data.taskRun.uid %q is not a uid", p.uid)
	}
	if want := fmt.Sprintf("%s.%d.%s.%s", p.uid, p.attempt, p.step, kind); e.ID() != want {
		fail(e, "id, want %s", want)
	}
	if d.StepState.Name != p.step || (d.Step != nil && d.Step.Name != p.step) {
		fail(e, "data names step %q / %v, subject %q", d.StepState.Name, d.Step, p.step)
	}
	checkTerminal(e, kind, d, fail)
	return p, true
}

// checkData validates data against the published schema and reads it.
func checkData(e cloudevents.Event, opts Options, fail func(cloudevents.Event, string, ...any)) (stepData, bool) {
	var d stepData
	if e.DataContentType() != cloudevents.ApplicationJSON {
		fail(e, "datacontenttype %q", e.DataContentType())
	}
	if e.DataSchema() != schemaID {
		fail(e, "dataschema %q, want %s", e.DataSchema(), schemaID)
	}
	if err := validate(e.Data()); err != nil {
		fail(e, "data does not match %s: %v", schemaFile, err)
		return d, false
	}
	if err := json.Unmarshal(e.Data(), &d); err != nil {
		fail(e, "data: %v", err)
		return d, false
	}
	if d.Log != nil {
		limit := opts.LogMaxBytes
		if limit == 0 {
			limit = defaultLogBytes
		}
		if len(*d.Log) > limit {
			fail(e, "log of %d bytes, over the cap of %d", len(*d.Log), limit)
		}
		if !utf8.ValidString(*d.Log) {
			fail(e, "log is not UTF-8")
		}
	}
	return d, true
}

// checkTerminal checks what each kind of event carries.
func checkTerminal(e cloudevents.Event, kind string, d stepData, fail func(cloudevents.Event, string, ...any)) {
	switch kind {
	case "started", "skipped":
		if d.Log != nil {
			fail(e, "a %s event carries a log", kind)
		}
		if kind == "skipped" && d.Reason == "" {
			fail(e, "skipped without a reason")
		}
	default:
		t := d.StepState.Terminated
		if t == nil || t.ExitCode == nil || t.FinishedAt == nil || t.StartedAt == nil {
			fail(e, "%s without stepState.terminated exit code, startedAt and finishedAt", kind)
			return
		}
		if kind == "succeeded" && (*t.ExitCode != 0 || d.Continued) {
			fail(e, "succeeded with exit code %d (continued %v)", *t.ExitCode, d.Continued)
		}
		if d.Reason == "" {
			fail(e, "%s without a reason", kind)
		}
		if d.Continued && (kind != "failed" || d.Reason != "Continued") {
			fail(e, "continued on a %s event with reason %s", kind, d.Reason)
		}
	}
}

func kindOf(typ string) (string, bool) {
	if len(typ) <= len(typePrefix)+len(typeSuffix) || typ[:len(typePrefix)] != typePrefix || typ[len(typ)-len(typeSuffix):] != typeSuffix {
		return "", false
	}
	k := typ[len(typePrefix) : len(typ)-len(typeSuffix)]
	return k, kinds[k]
}

func ext(e cloudevents.Event, name string) string {
	v, ok := e.Extensions()[name]
	if !ok {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}
