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

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestCommittedSchemaIsCurrent fails when events.Data (or a type it
// contains) changed without regenerating the published schema.
func TestCommittedSchemaIsCurrent(t *testing.T) {
	want, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("..", "..", Output))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, got) {
		t.Fatalf("%s is stale; run: go run ./hack/eventschema > %s\n%s", Output, Output, cmp.Diff(string(got), string(want)))
	}
}

// TestSchemaIsValidDraft2020 compiles the schema against the 2020-12
// metaschema and checks the shape of a few fields.
func TestSchemaIsValidDraft2020(t *testing.T) {
	out, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		data  string
		valid bool
	}{
		{"minimal started", `{"taskRun":{"name":"b","namespace":"ci","uid":"u","attempt":0},"stepState":{"name":"compile","container":"step-compile","running":{"startedAt":"2026-11-22T16:38:41Z"}}}`, true},
		{"terminated with log", `{"taskRun":{"name":"b","namespace":"ci","uid":"u","attempt":1},"stepState":{"terminated":{"exitCode":1,"reason":"Error","startedAt":"2026-11-22T16:38:41Z","finishedAt":"2026-11-22T16:38:53Z"},"name":"t","container":"step-t","terminationReason":"Error"},"reason":"Error","log":"boom\n","logTruncated":true}`, true},
		{"no taskRun", `{"stepState":{}}`, false},
		{"attempt is a string", `{"taskRun":{"name":"b","namespace":"ci","uid":"u","attempt":"1"},"stepState":{}}`, false},
		{"exit code is a string", `{"taskRun":{"name":"b","namespace":"ci","uid":"u","attempt":1},"stepState":{"terminated":{"exitCode":"1","startedAt":null,"finishedAt":null}}}`, false},
		{"log is a number", `{"taskRun":{"name":"b","namespace":"ci","uid":"u","attempt":1},"stepState":{},"log":3}`, false},
		{"env value is a number", `{"taskRun":{"name":"b","namespace":"ci","uid":"u","attempt":1},"stepState":{},"step":{"name":"x","env":[{"name":"A","value":1}]}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := jsonschema.UnmarshalJSON(strings.NewReader(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			err = sch.Validate(v)
			if (err == nil) != tt.valid {
				t.Errorf("valid = %v, want %v: %v", err == nil, tt.valid, err)
			}
		})
	}
	// Every top-level property of events.Data is described.
	var root struct {
		Properties map[string]struct {
			Description string `json:"description"`
			Ref         string `json:"$ref"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(out, &root); err != nil {
		t.Fatal(err)
	}
	var undocumented []string
	for name, p := range root.Properties {
		if p.Description == "" && p.Ref != "#/$defs/events.TaskRunRef" {
			undocumented = append(undocumented, name)
		}
	}
	if len(undocumented) > 0 {
		t.Errorf("properties without a description: %v", undocumented)
	}
}
