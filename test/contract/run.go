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

package contract

import (
	"fmt"
	"sort"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

// run is the stream of one TaskRun (one source and uid) through one source.
type run struct {
	source string
	last   string // the sequence of the last first delivery
	steps  map[[2]int]*step
}

// step is one step of one attempt.
type step struct {
	name              string
	started, terminal *parsed
}

// add checks an event against the ones of its TaskRun before it: the
// sequence only grows in arrival order, each step of an attempt has one
// name, one started and one terminal event, and a skipped step no start.
func (r *run) add(p parsed, fail func(cloudevents.Event, string, ...any)) {
	if r.last != "" && p.sequence <= r.last {
		fail(p.event, "sequence %s arrived after %s", p.sequence, r.last)
	}
	if p.sequence > r.last {
		r.last = p.sequence
	}
	k := [2]int{p.attempt, p.index}
	s := r.steps[k]
	if s == nil {
		s = &step{name: p.step}
		r.steps[k] = s
	}
	if s.name != p.step {
		fail(p.event, "step index %d of attempt %d is %q, earlier %q", p.index, p.attempt, p.step, s.name)
	}
	// A second start of the step has the start's id: a duplicate, seen
	// before; a second terminal event has another kind.
	switch {
	case p.kind != "started" && s.terminal != nil:
		fail(p.event, "%s after %s for step %s of attempt %d", p.kind, s.terminal.kind, p.step, p.attempt)
	case p.kind == "started":
		s.started = &p
	default:
		s.terminal = &p
	}
	if s.started != nil && s.terminal != nil && s.terminal.kind == "skipped" {
		fail(p.event, "step %s of attempt %d both started and skipped", p.step, p.attempt)
	}
}

// check applies the rules over a TaskRun's whole stream: times never
// contradict (a step ends no earlier than it started and starts no earlier
// than the previous step ended), step names are distinct within an
// attempt, and with a complete stream every step of every attempt ended.
func (r *run) check(complete bool) []error {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("TaskRun %s: %s", r.source, fmt.Sprintf(format, args...)))
	}
	keys := make([][2]int, 0, len(r.steps))
	for k := range r.steps {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i][0] < keys[j][0] || keys[i][0] == keys[j][0] && keys[i][1] < keys[j][1]
	})
	names := map[int]map[string]int{}
	for i, k := range keys {
		s := r.steps[k]
		attempt, index := k[0], k[1]
		if names[attempt] == nil {
			names[attempt] = map[string]int{}
		}
		if other, dup := names[attempt][s.name]; dup {
			fail("attempt %d has step %s at index %d and %d", attempt, s.name, other, index)
		}
		names[attempt][s.name] = index
		if s.started != nil && s.terminal != nil && s.terminal.time.Before(s.started.time) {
			fail("step %s of attempt %d ends at %s, before its start at %s", s.name, attempt, s.terminal.time, s.started.time)
		}
		if i > 0 && keys[i-1][0] == attempt {
			prev := r.steps[keys[i-1]]
			if prev.terminal != nil && s.started != nil && s.started.time.Before(prev.terminal.time) {
				fail("step %s of attempt %d starts at %s, before step %s ended at %s",
					s.name, attempt, s.started.time, prev.name, prev.terminal.time)
			}
		}
		if !complete {
			continue
		}
		if s.terminal == nil {
			fail("step %s of attempt %d started but never ended", s.name, attempt)
		}
		if s.started == nil && s.terminal != nil && s.terminal.kind != "skipped" {
			fail("step %s of attempt %d %s without a started event", s.name, attempt, s.terminal.kind)
		}
		if first := i == 0 || keys[i-1][0] != attempt; first && index != 0 || !first && keys[i-1][1] != index-1 {
			fail("attempt %d has no events for the step before index %d", attempt, index)
		}
	}
	return errs
}
