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
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaFile is the published schema of data, read from the repository
// (its $id is the dataschema every event names).
const schemaFile = "docs/schemas/step-event-data.v1.json"

var (
	schemaOnce sync.Once
	schemaID   string
	schema     *jsonschema.Schema
	schemaErr  error
)

// PublishedSchema is the published schema of data, compiled, and its
// $id (the dataschema every event names); it must be a draft 2020-12
// schema with an $id.
func PublishedSchema() (id string, sch *jsonschema.Schema, err error) {
	schemaOnce.Do(compileSchema)
	return schemaID, schema, schemaErr
}

// validate checks data against the published schema.
func validate(data []byte) error {
	if _, _, err := PublishedSchema(); err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return schema.Validate(v)
}

func compileSchema() {
	_, here, _, _ := runtime.Caller(0)
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(here), "..", "..", schemaFile))
	if err != nil {
		schemaErr = err
		return
	}
	var meta struct {
		ID     string `json:"$id"`
		Schema string `json:"$schema"`
	}
	if schemaErr = json.Unmarshal(raw, &meta); schemaErr != nil {
		return
	}
	if meta.Schema != "https://json-schema.org/draft/2020-12/schema" || meta.ID == "" {
		schemaErr = fmt.Errorf("%s: $schema %q, $id %q", schemaFile, meta.Schema, meta.ID)
		return
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		schemaErr = err
		return
	}
	c := jsonschema.NewCompiler()
	if schemaErr = c.AddResource(meta.ID, doc); schemaErr != nil {
		return
	}
	schemaID = meta.ID
	schema, schemaErr = c.Compile(meta.ID)
}
