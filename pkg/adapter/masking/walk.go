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

package masking

import "reflect"

// Strings masks, in place, every string reachable from ptr (a pointer to
// a struct, slice or map) through exported fields, pointers, slices,
// arrays, interfaces and map values: a step's definition or state has
// dozens of fields a param can be substituted into (a StepAction's
// params, when expressions, an image reference, artifacts' URIs), and
// naming some of them would miss the rest, including those a later Tekton
// adds. Map keys are kept: they are names the Task's author wrote.
func (m *Masker) Strings(ptr any) {
	if m == nil || ptr == nil {
		return
	}
	m.walk(reflect.ValueOf(ptr))
}

func (m *Masker) walk(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			v.SetString(m.String(v.String()))
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			m.walk(v.Elem())
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				m.walk(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			m.walk(v.Index(i))
		}
	case reflect.Map:
		// Map values are not addressable: each is masked in a copy,
		// which replaces it.
		iter := v.MapRange()
		for iter.Next() {
			val := reflect.New(v.Type().Elem()).Elem()
			val.Set(iter.Value())
			m.walk(val)
			v.SetMapIndex(iter.Key(), val)
		}
	}
}
