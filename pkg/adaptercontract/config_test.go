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

package adaptercontract

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/labels"
)

func TestSelector(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		// matches and skips are TaskRun label sets the selector must select
		// and must not select.
		matches, skips []labels.Set
	}{{
		name:    "no selector selects everything",
		matches: []labels.Set{nil, {EventListenerLabel: "ci"}},
	}, {
		name:    "the sink's EventListener's TaskRuns are excluded, others kept",
		cfg:     Config{ExcludeEventListener: "on-step"},
		matches: []labels.Set{nil, {EventListenerLabel: "github-push"}},
		skips:   []labels.Set{{EventListenerLabel: "on-step"}},
	}, {
		name:    "combined with the source's selector",
		cfg:     Config{LabelSelector: "team=a", ExcludeEventListener: "on-step"},
		matches: []labels.Set{{"team": "a"}, {"team": "a", EventListenerLabel: "other"}},
		skips:   []labels.Set{nil, {"team": "b"}, {"team": "a", EventListenerLabel: "on-step"}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sel, err := tc.cfg.Selector()
			if err != nil {
				t.Fatal(err)
			}
			// The adapter sends the string form to the apiserver.
			parsed, err := labels.Parse(sel.String())
			if err != nil {
				t.Fatalf("selector %q does not parse: %v", sel, err)
			}
			for _, l := range tc.matches {
				if !parsed.Matches(l) {
					t.Errorf("%q does not select %v", sel, l)
				}
			}
			for _, l := range tc.skips {
				if parsed.Matches(l) {
					t.Errorf("%q selects %v", sel, l)
				}
			}
		})
	}
}

func TestDecode(t *testing.T) {
	const id = `"sourceUID":"4d9d2337-7988-43b0-8b80-0dc3a12a0e67","sourceName":"steps","sourceNamespace":"ci"`
	tests := []struct {
		name, json, wantErr string
	}{
		{name: "valid", json: `{` + id + `,"namespaces":["ci"],"labelSelector":"team=a","excludeEventListener":"on-step","logMaxBytes":10}`},
		{name: "not JSON", json: `{`, wantErr: "parsing K_SOURCE_CONFIG"},
		{name: "nothing to watch", json: `{` + id + `}`, wantErr: "no namespaces to watch"},
		{name: "no source UID", json: `{"sourceName":"s","sourceNamespace":"ci","allNamespaces":true}`, wantErr: "sourceUID, sourceName and sourceNamespace are required"},
		{name: "no source namespace", json: `{"sourceUID":"u","sourceName":"s","allNamespaces":true}`, wantErr: "sourceUID, sourceName and sourceNamespace are required"},
		{name: "source UID unfit for a name", json: `{"sourceUID":"U/1","sourceName":"s","sourceNamespace":"ci","allNamespaces":true}`, wantErr: `sourceUID "U/1"`},
		{name: "negative log cap", json: `{` + id + `,"allNamespaces":true,"logMaxBytes":-1}`, wantErr: "logMaxBytes must not be negative"},
		{name: "bad selector", json: `{` + id + `,"allNamespaces":true,"labelSelector":"a in (b"}`, wantErr: "labelSelector"},
		{name: "bad EventListener name", json: `{` + id + `,"allNamespaces":true,"excludeEventListener":"a b"}`, wantErr: "excludeEventListener"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.json)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
