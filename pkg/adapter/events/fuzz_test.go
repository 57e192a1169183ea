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

package events

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/masking"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/steplog"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
)

// FuzzNew feeds arbitrary TaskRun JSON (missing taskSpec, steps and status
// of different lengths, unknown reasons, odd names) through transitions and
// event building: nothing may panic, every event must be a valid CloudEvent
// with decodable data, no redacted value may leak, and neither may a masked
// secret, nor may masking lengthen the log.
// plantedSecret is the value of a Secret the fuzzed steps reference.
const plantedSecret = "planted-Secret-value-42"

var fuzzMasker = func() *masking.Masker {
	patterns, err := masking.Compile(nil)
	if err != nil {
		panic(err)
	}
	return masking.New(patterns, [][]byte{[]byte(plantedSecret)})
}()

func FuzzNew(f *testing.F) {
	f.Add(`{"metadata":{"name":"a","namespace":"n","uid":"u"},"status":{"taskSpec":{"steps":[{"name":"s","script":"echo planted-Secret-value-42","args":["planted-Secret-value-42"]}]},"steps":[{"name":"s","terminated":{"exitCode":0,"message":"[{\"key\":\"r\",\"value\":\"planted-Secret-value-42\"}]"}}]}}`)
	f.Add(`{"metadata":{"name":"a","namespace":"n","uid":"u"},"status":{"podName":"p","steps":[{"name":"s","terminated":{"exitCode":0,"startedAt":"2026-01-01T00:00:00Z","finishedAt":"2026-01-01T00:00:01Z"}}]}}`)
	f.Add(`{"metadata":{"name":"a","namespace":"n","uid":"u","labels":{"tekton.dev/task":"t"}},"status":{"taskSpec":{"steps":[{"name":"s","env":[{"name":"TOKEN","value":"hunter2-secret"}]}]},"steps":[{"name":"s","running":{"startedAt":"2026-01-01T00:00:00Z"}},{"name":"extra","terminated":{"exitCode":1,"reason":"Whatever"},"terminationReason":"Skipped"}]}}`)
	f.Add(`{"metadata":{"name":"a","namespace":"n","uid":"u"},"status":{"retriesStatus":[{"podName":"p0","steps":[{"name":"s","terminated":{"exitCode":7}}]}],"steps":[]}}`)
	f.Add(`{"metadata":{"name":"a"},"status":{"taskSpec":{"steps":[{},{}]},"steps":[{"terminated":{"exitCode":0},"terminationReason":"TaskRunCancelled"}]}}`)
	f.Fuzz(func(t *testing.T, raw string) {
		tr := &pipelinev1.TaskRun{}
		if err := json.Unmarshal([]byte(raw), tr); err != nil {
			return
		}
		var secrets []string
		if tr.Status.TaskSpec != nil {
			for _, s := range tr.Status.TaskSpec.Steps {
				for _, e := range s.Env {
					if e.Value != "" && len(e.Value) > 3 && !PlainlyNotSecret(e.Name, e.Value) {
						secrets = append(secrets, e.Value)
					}
				}
			}
		}
		log := "log " + plantedSecret + " " + raw
		for _, tt := range transitions.ForTaskRun(tr, time.Time{}) {
			e, err := New(tr, tt, &steplog.Log{Text: log, Truncated: len(raw)%2 == 0}, fuzzMasker)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if tr.Name != "" && tr.Namespace != "" && tt.StepState.Name != "" {
				if err := e.Validate(); err != nil {
					t.Fatalf("invalid event: %v", err)
				}
			}
			var d Data
			if err := json.Unmarshal(e.Data(), &d); err != nil {
				t.Fatalf("data does not decode: %v", err)
			}
			for _, s := range secrets {
				if d.Step != nil && strings.Contains(string(e.Data()), `"value":"`+s+`"`) {
					t.Fatalf("secret value %q leaked into %s", s, e.Data())
				}
			}
			// What the masker masks never carries the planted secret.
			masked := []string{}
			if d.Log != nil {
				masked = append(masked, *d.Log)
			}
			if d.Step != nil {
				masked = append(masked, d.Step.Script, d.Step.WorkingDir)
				masked = append(masked, d.Step.Args...)
				masked = append(masked, d.Step.Command...)
				for _, env := range d.Step.Env {
					masked = append(masked, env.Value)
				}
			}
			if term := d.StepState.Terminated; term != nil {
				masked = append(masked, term.Message)
			}
			for _, m := range masked {
				if strings.Contains(m, plantedSecret) {
					t.Fatalf("the planted secret leaked: %q", m)
				}
			}
			if d.Log != nil && len(*d.Log) > len(log) {
				t.Fatalf("masking made the log longer: %d > %d bytes", len(*d.Log), len(log))
			}
		}
	})
}
