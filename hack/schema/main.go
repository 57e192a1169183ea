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

// Command schema prints the OpenAPI v3 schema of TektonStepSource (spec and
// status), derived by reflection from the Go types with descriptions from
// their doc comments. hack/update-schema.sh writes it into the CRD.
//
// Knative's knative.dev/hack/schema does the same for Knative's own CRDs, but
// it recurses forever on types that contain themselves through a slice (the
// Trigger filter type, SubscriptionsAPIFilter, does) and cannot find doc
// comments of types outside a vendor directory. Here a type that recurs is cut
// to an object with x-kubernetes-preserve-unknown-fields (structural schemas
// cannot be recursive), and docs come from the module cache.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/tektonstep/tekton-step-source/hack/internal/fielddocs"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

func main() {
	t := reflect.TypeOf(v1alpha1.TektonStepSource{})
	g := generator{docs: fielddocs.Cache{}}
	root := apiextensionsv1.JSONSchemaProps{
		Type:       "object",
		Properties: map[string]apiextensionsv1.JSONSchemaProps{},
	}
	for _, name := range []string{"Spec", "Status"} {
		f, _ := t.FieldByName(name)
		s := g.schema(f.Type, nil)
		s.Description = g.doc(t, f.Name)
		root.Properties[jsonName(f)] = s
	}
	refine(&root)
	out, err := yaml.Marshal(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}

// refine adds what Go types cannot express. ceOverrides may not replace the
// attributes the source sets itself, their names are CloudEvents attribute
// names and their values Strings the binary HTTP binding carries, as
// Validate checks them (with the same patterns); the map is bounded so that
// the apiserver's CEL cost estimate accepts the rules. replicas and
// log.maxBytes are bounded as Validate bounds them (one leader-elected
// bucket per replica; events under the usual broker size limits).
// The sink's and the dead-letter sink's absolute URIs are http or https,
// the only schemes the adapter sends to, as Validate checks them.
// delivery's retry, backoffPolicy and format are bounded and its durations
// shaped as Knative's DeliverySpec validation checks them, so that kubectl
// and kn refuse such mistakes with a field path at once (the controller's
// Go validation also parses the durations). replays are a list keyed by
// name (a merge patch of one replay keeps the others), bounded and shaped
// as Validate checks them.
func refine(root *apiextensionsv1.JSONSchemaProps) {
	edit(root, []string{"spec", "delivery", "retry"}, func(s *apiextensionsv1.JSONSchemaProps) {
		s.Minimum = ptr(float64(0))
	})
	edit(root, []string{"spec", "delivery", "backoffPolicy"}, func(s *apiextensionsv1.JSONSchemaProps) {
		s.Enum = []apiextensionsv1.JSON{{Raw: []byte(`"exponential"`)}, {Raw: []byte(`"linear"`)}}
	})
	edit(root, []string{"spec", "delivery", "format"}, func(s *apiextensionsv1.JSONSchemaProps) {
		s.Enum = []apiextensionsv1.JSON{{Raw: []byte(`"json"`)}, {Raw: []byte(`"binary"`)}}
	})
	edit(root, []string{"spec", "deletionGuard", "deadline"}, func(s *apiextensionsv1.JSONSchemaProps) {
		// A Go duration (metav1.Duration): anything else would make the
		// source unreadable to every Go client, the controller's included.
		s.Pattern = `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
		s.XValidations = apiextensionsv1.ValidationRules{{
			Rule:    "duration(self) >= duration('1s') && duration(self) <= duration('24h')",
			Reason:  ptr(apiextensionsv1.FieldValueInvalid),
			Message: "deletionGuard.deadline must be between 1s and 24h",
		}}
	})
	for _, d := range []string{"timeout", "backoffDelay", "retryAfterMax"} {
		edit(root, []string{"spec", "delivery", d}, func(s *apiextensionsv1.JSONSchemaProps) {
			s.Pattern = isoDuration
		})
	}
	for _, dest := range [][]string{{"spec", "sink", "uri"}, {"spec", "delivery", "deadLetterSink", "uri"}} {
		edit(root, dest, func(s *apiextensionsv1.JSONSchemaProps) {
			s.XValidations = apiextensionsv1.ValidationRules{{
				Rule:    "!self.matches('^[a-zA-Z][a-zA-Z0-9+.-]*:') || self.matches('^(?i)https?:')",
				Reason:  ptr(apiextensionsv1.FieldValueInvalid),
				Message: "events are sent over HTTP: an absolute URI must be http:// or https://",
			}}
		})
	}
	edit(root, []string{"spec", "replicas"}, func(s *apiextensionsv1.JSONSchemaProps) {
		s.Minimum, s.Maximum = ptr(float64(1)), ptr(float64(v1alpha1.MaxReplicas))
	})
	edit(root, []string{"spec", "log", "maxBytes"}, func(s *apiextensionsv1.JSONSchemaProps) {
		s.Minimum, s.Maximum = ptr(float64(0)), ptr(float64(v1alpha1.MaxLogMaxBytes))
	})
	edit(root, []string{"spec", "replays"}, func(s *apiextensionsv1.JSONSchemaProps) {
		s.MaxItems = ptr(int64(v1alpha1.MaxReplays))
		s.XListType = ptr("map")
		s.XListMapKeys = []string{"name"}
		item := s.Items.Schema
		name := item.Properties["name"]
		name.MaxLength = ptr(int64(v1alpha1.MaxReplayNameLength))
		name.Pattern = `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
		item.Properties["name"] = name
		for _, t := range []string{"since", "until"} {
			p := item.Properties[t]
			p.Format = "date-time"
			item.Properties[t] = p
		}
		types := item.Properties["types"]
		for _, t := range []string{"started", "succeeded", "failed", "skipped"} {
			types.Items.Schema.Enum = append(types.Items.Schema.Enum, apiextensionsv1.JSON{Raw: []byte(`"` + t + `"`)})
		}
		item.Properties["types"] = types
		item.XValidations = apiextensionsv1.ValidationRules{{
			Rule:      "!has(self.until) || timestamp(self.until) > timestamp(self.since)",
			FieldPath: ".until",
			Reason:    ptr(apiextensionsv1.FieldValueInvalid),
			Message:   "until must be after since",
		}}
	})
	edit(root, []string{"spec", "ceOverrides", "extensions"}, func(s *apiextensionsv1.JSONSchemaProps) {
		maxProperties := int64(32)
		maxLength := int64(64)
		s.MaxProperties = &maxProperties
		s.XValidations = apiextensionsv1.ValidationRules{{
			Rule:    "self.all(k, !k.matches('^(?i)(id|source|specversion|type|datacontenttype|dataschema|subject|time|data|data_base64|sequence|partitionkey|replay|tekton.*)$'))",
			Reason:  ptr(apiextensionsv1.FieldValueInvalid),
			Message: "ceOverrides.extensions may not override CloudEvents context attributes (id, source, specversion, type, datacontenttype, dataschema, subject, time) or the extensions the source sets (sequence, partitionkey, replay, tekton*)",
		}, {
			Rule:    "self.all(k, k.matches('" + v1alpha1.AttributeNamePattern + "'))",
			Reason:  ptr(apiextensionsv1.FieldValueInvalid),
			Message: "ceOverrides.extensions names must be CloudEvents attribute names: lowercase letters and digits",
		}}
		s.AdditionalProperties.Schema.MaxLength = &maxLength
		s.AdditionalProperties.Schema.XValidations = apiextensionsv1.ValidationRules{{
			Rule:   "!self.matches(r'" + v1alpha1.ForbiddenInAttributeValues + "')",
			Reason: ptr(apiextensionsv1.FieldValueInvalid),
			Message: "a ceOverrides.extensions value must be a CloudEvents String the binary HTTP binding carries: " +
				"no control characters (U+0000-U+001F, U+007F-U+009F; a YAML block scalar (|) ends with a newline, use |-), " +
				"noncharacters, or leading or trailing spaces",
		}}
	})
}

// isoDuration is the shape of an ISO 8601 duration (PT10S, PT0.5S, P1DT2H).
const isoDuration = `^P(\d+(\.\d+)?[YMWD])*(T(\d+(\.\d+)?[HMS])+)?$`

func edit(s *apiextensionsv1.JSONSchemaProps, path []string, f func(*apiextensionsv1.JSONSchemaProps)) {
	if len(path) == 0 {
		f(s)
		return
	}
	child, ok := s.Properties[path[0]]
	if !ok {
		panic(fmt.Sprintf("no property %q", path[0]))
	}
	edit(&child, path[1:], f)
	s.Properties[path[0]] = child
}

func ptr[T any](v T) *T { return &v }

type generator struct {
	docs fielddocs.Cache
}

var (
	jsonMarshaler   = reflect.TypeOf((*json.Marshaler)(nil)).Elem()
	jsonUnmarshaler = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()
	preserve        = true
)

func (g *generator) schema(t reflect.Type, seen []reflect.Type) apiextensionsv1.JSONSchemaProps {
	for t.Kind() == reflect.Ptr {
		t = t.Elem()
	}
	// Types that marshal themselves (apis.URL, metav1.Time, ...) are strings on the wire.
	if reflect.PointerTo(t).Implements(jsonMarshaler) && reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		return apiextensionsv1.JSONSchemaProps{Type: "string"}
	}
	switch t.Kind() {
	case reflect.Bool:
		return apiextensionsv1.JSONSchemaProps{Type: "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int16, reflect.Int8:
		return apiextensionsv1.JSONSchemaProps{Type: "integer", Format: "int32"}
	case reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return apiextensionsv1.JSONSchemaProps{Type: "integer", Format: "int64"}
	case reflect.Float32, reflect.Float64:
		return apiextensionsv1.JSONSchemaProps{Type: "number"}
	case reflect.String:
		return apiextensionsv1.JSONSchemaProps{Type: "string"}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return apiextensionsv1.JSONSchemaProps{Type: "string", Format: "byte"}
		}
		items := g.schema(t.Elem(), seen)
		return apiextensionsv1.JSONSchemaProps{Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &items}}
	case reflect.Map:
		values := g.schema(t.Elem(), seen)
		return apiextensionsv1.JSONSchemaProps{Type: "object", AdditionalProperties: &apiextensionsv1.JSONSchemaPropsOrBool{Allows: true, Schema: &values}}
	case reflect.Struct:
		for _, s := range seen {
			if s == t {
				return apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: &preserve}
			}
		}
		return g.structSchema(t, append(seen, t))
	case reflect.Interface:
		return apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: &preserve}
	default:
		panic(fmt.Sprintf("cannot describe %v (%v)", t, t.Kind()))
	}
}

func (g *generator) structSchema(t reflect.Type, seen []reflect.Type) apiextensionsv1.JSONSchemaProps {
	s := apiextensionsv1.JSONSchemaProps{Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{}}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := jsonName(f)
		if name == "-" || !f.IsExported() {
			continue
		}
		fs := g.schema(f.Type, seen)
		if f.Anonymous && name == "" {
			for n, p := range fs.Properties {
				s.Properties[n] = p
			}
			s.Required = append(s.Required, fs.Required...)
			continue
		}
		fs.Description = g.doc(t, f.Name)
		s.Properties[name] = fs
		if !strings.Contains(f.Tag.Get("json"), "omitempty") && !strings.Contains(g.rawDoc(t, f.Name), "+optional") {
			s.Required = append(s.Required, name)
		}
	}
	sort.Strings(s.Required)
	return s
}

func jsonName(f reflect.StructField) string {
	tag, ok := f.Tag.Lookup("json")
	if !ok {
		if f.Anonymous {
			return ""
		}
		return f.Name
	}
	return strings.Split(tag, ",")[0]
}

// doc returns the field's doc comment without marker lines (+optional, ...).
func (g *generator) doc(t reflect.Type, field string) string {
	var lines []string
	for _, l := range strings.Split(g.rawDoc(t, field), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "+") || strings.HasPrefix(l, "TODO") {
			continue
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, " ")
}

func (g *generator) rawDoc(t reflect.Type, field string) string {
	return g.docs.Get(t.PkgPath(), t.Name(), field)
}
