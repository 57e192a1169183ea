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

// Command eventschema writes the JSON Schema (draft 2020-12) of the `data`
// of every step event, derived by reflection from the Go type that encodes
// it (pkg/adapter/events.Data), with descriptions from the doc comments of
// the event package. Named struct types become $defs. Types with their own
// JSON encoding must be listed in customTypes, so a new one fails the
// generator instead of being described wrongly.
//
//	go run ./hack/eventschema > docs/schemas/step-event-data.v1.json
//
// main_test.go fails when the committed schema differs from the output.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tektonstep/tekton-step-source/hack/internal/fielddocs"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/events"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// SchemaID is where the schema is published; it is the events'
// `dataschema` attribute.
const SchemaID = v1alpha1.StepEventDataSchema

// Output is the schema's path in the repository.
const Output = "docs/schemas/step-event-data.v1.json"

// schema is a JSON Schema object (only the keywords used here).
type schema struct {
	Schema      string             `json:"$schema,omitempty"`
	ID          string             `json:"$id,omitempty"`
	Ref         string             `json:"$ref,omitempty"`
	Title       string             `json:"title,omitempty"`
	Description string             `json:"description,omitempty"`
	Type        interface{}        `json:"type,omitempty"`
	Format      string             `json:"format,omitempty"`
	Properties  map[string]*schema `json:"properties,omitempty"`
	Required    []string           `json:"required,omitempty"`
	Items       *schema            `json:"items,omitempty"`
	AddlProps   *schema            `json:"additionalProperties,omitempty"`
	AnyOf       []*schema          `json:"anyOf,omitempty"`
	Minimum     *int               `json:"minimum,omitempty"`
	Defs        map[string]*schema `json:"$defs,omitempty"`
}

// customTypes have their own JSON encoding.
var customTypes = map[reflect.Type]func() *schema{
	reflect.TypeOf(metav1.Time{}): func() *schema {
		return &schema{Type: []string{"string", "null"}, Format: "date-time", Description: "RFC 3339 time; null when unset"}
	},
	reflect.TypeOf(metav1.MicroTime{}): func() *schema {
		return &schema{Type: []string{"string", "null"}, Format: "date-time", Description: "RFC 3339 time with microseconds; null when unset"}
	},
	reflect.TypeOf(metav1.Duration{}): func() *schema {
		return &schema{Type: "string", Description: "a Go duration, e.g. 1m30s"}
	},
	reflect.TypeOf(resource.Quantity{}): func() *schema {
		return &schema{Type: "string", Description: "a Kubernetes quantity, e.g. 500m or 1Gi"}
	},
	reflect.TypeOf(intstr.IntOrString{}): func() *schema {
		return &schema{Type: []string{"integer", "string"}}
	},
	reflect.TypeOf(pipelinev1.ParamValue{}): func() *schema {
		return &schema{Type: []string{"string", "array", "object"}, Description: "a Tekton parameter value: a string, an array of strings or an object of strings"}
	},
	reflect.TypeOf(runtime.RawExtension{}): func() *schema {
		return &schema{Description: "any JSON value"}
	},
}

var jsonMarshaler = reflect.TypeOf((*json.Marshaler)(nil)).Elem()

type generator struct {
	defs map[string]*schema
	docs fielddocs.Cache
}

// Generate returns the schema document.
func Generate() ([]byte, error) {
	g := &generator{defs: map[string]*schema{}, docs: fielddocs.Cache{}}
	root, err := g.structSchema(reflect.TypeOf(events.Data{}))
	if err != nil {
		return nil, err
	}
	root.Schema = "https://json-schema.org/draft/2020-12/schema"
	root.ID = SchemaID
	root.Title = "Tekton step event data (dev.tekton.event.step.*.v1)"
	root.Description = "The data of every CloudEvent a TektonStepSource sends (types dev.tekton.event.step.started.v1, " +
		"succeeded.v1, failed.v1 and skipped.v1; datacontenttype application/json). Generated from " +
		"github.com/tektonstep/tekton-step-source/pkg/adapter/events.Data by hack/eventschema; do not edit. " +
		"Objects allow properties not listed here: fields may be added in a compatible way. " +
		"The event's attributes order it: the CloudEvents sequence extension (<attempt>-<step index>-<0 started, " +
		"1 terminal>, zero-padded to 5 digits) sorts a TaskRun's events (one source) in transition order across " +
		"attempts, and the partitionkey extension (<namespace>/<taskrun>) keeps them in one partition; a terminal " +
		"event's stepState.terminated carries the exit code, startedAt and finishedAt (the step's duration) and " +
		"stepState.results the step's results."
	root.Defs = g.defs
	out, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

func main() {
	out, err := Generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}

// defName names a $defs entry after the Go type: events.Data,
// tekton.v1.Step, core.v1.EnvVar, meta.v1.Time, ...
func defName(t reflect.Type) string {
	short := map[string]string{
		"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1":           "tekton.v1",
		"github.com/tektoncd/pipeline/pkg/apis/pipeline/pod":          "tekton.pod",
		"github.com/tektonstep/tekton-step-source/pkg/adapter/events": "events",
		"k8s.io/api/core/v1":                   "core.v1",
		"k8s.io/apimachinery/pkg/apis/meta/v1": "meta.v1",
	}
	if s, ok := short[t.PkgPath()]; ok {
		return s + "." + t.Name()
	}
	return strings.ReplaceAll(t.PkgPath(), "/", ".") + "." + t.Name()
}

// schemaFor describes a type.
func (g *generator) schemaFor(t reflect.Type) (*schema, error) {
	if t.Kind() == reflect.Ptr {
		return g.schemaFor(t.Elem())
	}
	if f, ok := customTypes[t]; ok {
		return f(), nil
	}
	if t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler) {
		return nil, fmt.Errorf("%v has its own JSON encoding: describe it in customTypes", t)
	}
	switch t.Kind() {
	case reflect.Bool:
		return &schema{Type: "boolean"}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return &schema{Type: "integer"}, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		zero := 0
		return &schema{Type: "integer", Minimum: &zero}, nil
	case reflect.Float32, reflect.Float64:
		return &schema{Type: "number"}, nil
	case reflect.String:
		return &schema{Type: "string"}, nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return &schema{Type: "string", Format: "byte"}, nil
		}
		items, err := g.schemaFor(t.Elem())
		if err != nil {
			return nil, err
		}
		return &schema{Type: "array", Items: items}, nil
	case reflect.Map:
		values, err := g.schemaFor(t.Elem())
		if err != nil {
			return nil, err
		}
		return &schema{Type: "object", AddlProps: values}, nil
	case reflect.Interface:
		return &schema{}, nil
	case reflect.Struct:
		name := defName(t)
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = nil // placeholder: recursion refers to it
			s, err := g.structSchema(t)
			if err != nil {
				return nil, err
			}
			s.Title = t.PkgPath() + "." + t.Name()
			g.defs[name] = s
		}
		return &schema{Ref: "#/$defs/" + name}, nil
	}
	return nil, fmt.Errorf("cannot describe %v (%v)", t, t.Kind())
}

// nullable allows null next to the schema.
func nullable(s *schema) *schema {
	if s.Ref != "" || s.Type == nil {
		return &schema{AnyOf: []*schema{s, {Type: "null"}}}
	}
	switch v := s.Type.(type) {
	case string:
		s.Type = []string{v, "null"}
	case []string:
		for _, x := range v {
			if x == "null" {
				return s
			}
		}
		s.Type = append(v, "null")
	}
	return s
}

func (g *generator) structSchema(t reflect.Type) (*schema, error) {
	s := &schema{Type: "object", Properties: map[string]*schema{}}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag, hasTag := f.Tag.Lookup("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" && opts == "" {
			continue
		}
		if f.Anonymous && name == "" {
			// Inlined (embedded without a JSON name): its fields are ours.
			inner := f.Type
			if inner.Kind() == reflect.Ptr {
				inner = inner.Elem()
			}
			is, err := g.structSchema(inner)
			if err != nil {
				return nil, err
			}
			for n, p := range is.Properties {
				s.Properties[n] = p
			}
			s.Required = append(s.Required, is.Required...)
			continue
		}
		if !hasTag || name == "" {
			name = f.Name
		}
		fs, err := g.schemaFor(f.Type)
		if err != nil {
			return nil, fmt.Errorf("%v.%s: %w", t, f.Name, err)
		}
		omitempty := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
		switch f.Type.Kind() {
		case reflect.Ptr, reflect.Slice, reflect.Map, reflect.Interface:
			if !omitempty {
				fs = nullable(fs)
			}
		}
		if d := g.doc(t, f.Name); d != "" {
			if fs.Description == "" {
				fs.Description = d
			}
		}
		s.Properties[name] = fs
		if !omitempty {
			s.Required = append(s.Required, name)
		}
	}
	sort.Strings(s.Required)
	return s, nil
}

// doc returns a field's doc comment for this project's own types only
// (Kubernetes and Tekton fields are described by their own documentation,
// linked through the $defs titles).
func (g *generator) doc(t reflect.Type, field string) string {
	pkg := t.PkgPath()
	if !strings.HasPrefix(pkg, "github.com/tektonstep/tekton-step-source/") {
		return ""
	}
	return strings.Join(strings.Fields(g.docs.Get(pkg, t.Name(), field)), " ")
}
