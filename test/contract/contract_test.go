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
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

const uid = "4d9d2337-7988-43b0-8b80-0dc3a12a0e67"

var t0 = time.Date(2026, 11, 22, 16, 38, 41, 0, time.UTC)

// event is a hand-written event of TaskRun ci/build as docs/events.md shows
// one, for the step at index of attempt, at t0 plus sec seconds.
func event(kind, stepName string, attempt, index, sec int) cloudevents.Event {
	e := cloudevents.NewEvent()
	e.SetID(fmt.Sprintf("%s.%d.%s.%s", uid, attempt, stepName, kind))
	e.SetType("dev.tekton.event.step." + kind + ".v1")
	e.SetSource("/apis/tekton.dev/v1/namespaces/ci/taskruns/build")
	e.SetSubject(stepName)
	e.SetTime(t0.Add(time.Duration(sec) * time.Second))
	e.SetDataSchema("https://raw.githubusercontent.com/tektonstep/tekton-step-source/main/docs/schemas/step-event-data.v1.json")
	terminal := 1
	if kind == "started" {
		terminal = 0
	}
	for k, v := range map[string]any{"tektontaskrun": "build", "tektonstep": stepName, "tektonnamespace": "ci",
		"tektonattempt": int32(attempt), "sequence": fmt.Sprintf("%05d-%05d-%d", attempt, index, terminal),
		"partitionkey": "ci/build"} {
		e.SetExtension(k, v)
	}
	data := map[string]any{
		"taskRun":   map[string]any{"name": "build", "namespace": "ci", "uid": uid, "attempt": attempt},
		"podRef":    map[string]any{"kind": "Pod", "apiVersion": "v1", "namespace": "ci", "name": "build-pod"},
		"step":      map[string]any{"name": stepName, "image": "busybox"},
		"stepState": map[string]any{"name": stepName, "container": "step-" + stepName},
	}
	stamp := func(s int) string { return t0.Add(time.Duration(s) * time.Second).Format(time.RFC3339) }
	switch kind {
	case "started":
		data["stepState"].(map[string]any)["running"] = map[string]any{"startedAt": stamp(sec)}
	case "skipped":
		data["reason"] = "Skipped"
	default:
		code, reason := 0, "Completed"
		if kind == "failed" {
			code, reason = 1, "Error"
		}
		data["stepState"].(map[string]any)["terminated"] = map[string]any{
			"exitCode": code, "reason": reason, "startedAt": stamp(0), "finishedAt": stamp(sec)}
		data["reason"] = reason
		data["log"] = "ok\n"
	}
	_ = e.SetData(cloudevents.ApplicationJSON, data)
	return e
}

// withData rewrites an event's data.
func withData(e cloudevents.Event, change func(map[string]any)) cloudevents.Event {
	d := map[string]any{}
	_ = json.Unmarshal(e.Data(), &d)
	change(d)
	_ = e.SetData(cloudevents.ApplicationJSON, d)
	return e
}

// with changes a copy of an event (events share their context when copied).
func with(e cloudevents.Event, change func(*cloudevents.Event)) cloudevents.Event {
	c := e.Clone()
	change(&c)
	return c
}

// good is a complete stream: two steps succeed, the third fails, the
// fourth is skipped; then a retry attempt whose only step succeeds.
func good() []cloudevents.Event {
	return []cloudevents.Event{
		event("started", "clone", 0, 0, 0), event("succeeded", "clone", 0, 0, 2),
		event("started", "build", 0, 1, 2), event("succeeded", "build", 0, 1, 5),
		event("started", "test", 0, 2, 5), event("failed", "test", 0, 2, 6),
		event("skipped", "push", 0, 3, 6),
		event("started", "clone", 1, 0, 10), event("succeeded", "clone", 1, 0, 11),
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		events func() []cloudevents.Event
		opts   Options
		want   string // "": no error; else a part of one of the errors
	}{{
		name: "a complete stream", events: good, opts: Options{Complete: true},
	}, {
		name: "the same stream through two sources",
		events: func() []cloudevents.Event {
			var out []cloudevents.Event
			for _, via := range []string{"a", "b"} {
				for _, e := range good() {
					e.SetExtension("via", via)
					out = append(out, e)
				}
			}
			return out
		},
		opts: Options{Complete: true, Stream: func(e cloudevents.Event) string { return ext(e, "via") }},
	}, {
		name: "two sources not told apart",
		events: func() []cloudevents.Event {
			return append(good(), good()...)
		},
		want: "delivered twice",
	}, {
		name:   "a redelivery where at least once is allowed",
		events: func() []cloudevents.Event { evs := good(); return append(evs[:4], evs[3:]...) },
		opts:   Options{Complete: true, Redelivered: true},
	}, {
		name: "a redelivery that is another transition",
		events: func() []cloudevents.Event {
			evs := good()
			return append(evs, with(evs[1], func(e *cloudevents.Event) { e.SetExtension("sequence", "00000-00007-1") }))
		},
		opts: Options{Redelivered: true},
		want: "redelivered as a different transition",
	}, {
		name: "a redelivery rebuilt from a later status (another time)",
		events: func() []cloudevents.Event {
			evs := good()
			return append(evs, with(evs[0], func(e *cloudevents.Event) { e.SetTime(t0.Add(time.Second)) }))
		},
		opts: Options{Complete: true, Redelivered: true},
	}, {
		name: "a replay of part of the stream, after it: its own stream, cut by its window",
		events: func() []cloudevents.Event {
			evs := good()
			for _, e := range evs[2:5] {
				evs = append(evs, with(e, func(e *cloudevents.Event) { e.SetExtension("replay", "backfill") }))
			}
			return evs
		},
		opts: Options{Complete: true},
	}, {
		name: "a replay out of order",
		events: func() []cloudevents.Event {
			evs := good()
			return append(evs, with(evs[3], func(e *cloudevents.Event) { e.SetExtension("replay", "r") }),
				with(evs[2], func(e *cloudevents.Event) { e.SetExtension("replay", "r") }))
		},
		want: "arrived after",
	}, {
		name: "a replayed id that is another transition",
		events: func() []cloudevents.Event {
			evs := good()
			return append(evs, with(evs[2], func(e *cloudevents.Event) {
				e.SetExtension("replay", "r")
				e.SetExtension("sequence", "00000-00002-0")
			}))
		},
		want: "replayed as a different transition",
	}, {
		name: "a filtered stream is not complete",
		events: func() []cloudevents.Event {
			evs := good()
			return []cloudevents.Event{evs[5]}
		},
	}, {
		name:   "a missing terminal event",
		events: func() []cloudevents.Event { evs := good(); return append(evs[:3], evs[4:]...) },
		opts:   Options{Complete: true},
		want:   "step build of attempt 0 started but never ended",
	}, {
		name:   "a terminal event without its start",
		events: func() []cloudevents.Event { evs := good(); return append(evs[:4], evs[5:]...) },
		opts:   Options{Complete: true},
		want:   "failed without a started event",
	}, {
		name:   "a step without events",
		events: func() []cloudevents.Event { evs := good(); return append(evs[:2], evs[4:]...) },
		opts:   Options{Complete: true},
		want:   "no events for the step before index 2",
	}, {
		name:   "out of order",
		events: func() []cloudevents.Event { evs := good(); evs[2], evs[3] = evs[3], evs[2]; return evs },
		want:   "sequence 00000-00001-0 arrived after 00000-00001-1",
	}, {
		name: "a skipped step that started",
		events: func() []cloudevents.Event {
			evs := good()
			return append(evs[:6], event("started", "push", 0, 3, 6), evs[6])
		},
		want: "both started and skipped",
	}, {
		name: "a step that ends before it starts",
		events: func() []cloudevents.Event {
			evs := good()
			evs[3].SetTime(t0.Add(time.Second))
			return evs
		},
		want: "ends at 2026-11-22 16:38:42 +0000 UTC, before its start",
	}, {
		name: "a step that starts before the previous one ended",
		events: func() []cloudevents.Event {
			evs := good()
			evs[2].SetTime(t0.Add(time.Second))
			return evs
		},
		want: "starts at 2026-11-22 16:38:42 +0000 UTC, before step clone ended",
	}, {
		name:   "an id of another form",
		events: func() []cloudevents.Event { evs := good(); evs[0].SetID("f00"); return evs },
		want:   "id, want " + uid + ".0.clone.started",
	}, {
		name: "a sequence of another form",
		events: func() []cloudevents.Event {
			evs := good()
			evs[0].SetExtension("sequence", "0-0-0")
			return evs
		},
		want: `sequence "0-0-0" is not`,
	}, {
		name: "a sequence of another attempt",
		events: func() []cloudevents.Event {
			evs := good()
			evs[0].SetExtension("sequence", "00003-00000-0")
			return evs
		},
		want: "is of attempt 3, tektonattempt 0",
	}, {
		name: "a terminal sequence on a start",
		events: func() []cloudevents.Event {
			evs := good()
			evs[0].SetExtension("sequence", "00000-00000-1")
			return evs
		},
		want: "ends in 1 for a started event",
	}, {
		name: "an extension name over 20 characters",
		events: func() []cloudevents.Event {
			evs := good()
			evs[0].SetExtension("tektonpipelinetaskname", "x")
			return evs
		},
		want: "extension name \"tektonpipelinetaskname\"",
	}, {
		name: "no partitionkey",
		events: func() []cloudevents.Event {
			evs := good()
			evs[0].SetExtension("partitionkey", nil)
			return evs
		},
		want: "no partitionkey extension",
	}, {
		name: "a partitionkey of another TaskRun",
		events: func() []cloudevents.Event {
			evs := good()
			evs[0].SetExtension("partitionkey", "ci/other")
			return evs
		},
		want: `partitionkey "ci/other"`,
	}, {
		name:   "a source of another TaskRun",
		events: func() []cloudevents.Event { evs := good(); evs[0].SetSource("/x"); return evs },
		want:   "source /x",
	}, {
		name: "an unknown type",
		events: func() []cloudevents.Event {
			evs := good()
			evs[0].SetType("dev.tekton.event.step.paused.v1")
			return evs
		},
		want: "none of the four",
	}, {
		name: "data against the schema",
		events: func() []cloudevents.Event {
			evs := good()
			evs[1] = withData(evs[1], func(d map[string]any) { d["taskRun"].(map[string]any)["attempt"] = "0" })
			return evs
		},
		want: "data does not match",
	}, {
		name: "a log over the cap",
		events: func() []cloudevents.Event {
			evs := good()
			evs[1] = withData(evs[1], func(d map[string]any) { d["log"] = strings.Repeat("x", 11) })
			return evs
		},
		opts: Options{LogMaxBytes: 10},
		want: "log of 11 bytes, over the cap of 10",
	}, {
		name: "a log on a start",
		events: func() []cloudevents.Event {
			evs := good()
			evs[0] = withData(evs[0], func(d map[string]any) { d["log"] = "" })
			return evs
		},
		want: "a started event carries a log",
	}, {
		name: "a terminal event without its termination",
		events: func() []cloudevents.Event {
			evs := good()
			evs[1] = withData(evs[1], func(d map[string]any) { delete(d["stepState"].(map[string]any), "terminated") })
			return evs
		},
		want: "succeeded without stepState.terminated exit code",
	}, {
		name: "a success with a non-zero exit code",
		events: func() []cloudevents.Event {
			evs := good()
			evs[1] = withData(evs[1], func(d map[string]any) {
				d["stepState"].(map[string]any)["terminated"].(map[string]any)["exitCode"] = 2
			})
			return evs
		},
		want: "succeeded with exit code 2",
	}, {
		name: "data of another attempt",
		events: func() []cloudevents.Event {
			evs := good()
			evs[1] = withData(evs[1], func(d map[string]any) { d["taskRun"].(map[string]any)["attempt"] = 1 })
			return evs
		},
		want: "data.taskRun ci/build attempt 1",
	}, {
		name: "two terminal events for one step",
		events: func() []cloudevents.Event {
			evs := good()
			return append(evs[:2], event("failed", "clone", 0, 0, 2))
		},
		want: "failed after succeeded for step clone of attempt 0",
	}, {
		name: "two names for one step",
		events: func() []cloudevents.Event {
			evs := good()
			return append(evs[:1], event("succeeded", "klone", 0, 0, 2))
		},
		want: `step index 0 of attempt 0 is "klone", earlier "clone"`,
	}, {
		name: "one name for two steps",
		events: func() []cloudevents.Event {
			return []cloudevents.Event{event("skipped", "clone", 0, 0, 0),
				event("started", "clone", 0, 1, 0), event("succeeded", "clone", 0, 1, 1)}
		},
		want: "attempt 0 has step clone at index 0 and 1",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := Check(tc.events(), tc.opts)
			switch {
			case tc.want == "" && len(errs) > 0:
				t.Errorf("want no error, got %v", errs)
			case tc.want != "" && len(errs) == 0:
				t.Errorf("want an error with %q, got none", tc.want)
			case tc.want != "" && !slices.ContainsFunc(errs, func(err error) bool { return strings.Contains(err.Error(), tc.want) }):
				t.Errorf("want an error with %q, got %v", tc.want, errs)
			}
		})
	}
}
