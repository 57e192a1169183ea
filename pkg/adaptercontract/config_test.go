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

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

func TestWatches(t *testing.T) {
	onStep := &EventListenerRef{Name: "on-step", Namespace: "ci"}
	tests := []struct {
		name string
		cfg  Config
		want []Watch
		// matches and skips are TaskRuns (namespace, labels) the watches
		// must select and must not select.
		matches, skips []taskRun
	}{{
		name:    "no selector selects everything",
		cfg:     Config{Namespaces: []string{"ci"}},
		want:    []Watch{{Namespace: "ci"}},
		matches: []taskRun{{"ci", nil}, {"ci", labels.Set{EventListenerLabel: "on-step"}}},
		skips:   []taskRun{{"other", nil}},
	}, {
		name:    "the sink's EventListener's TaskRuns are excluded in its namespace only",
		cfg:     Config{Namespaces: []string{"ci", "web"}, ExcludeEventListener: onStep},
		want:    []Watch{{Namespace: "ci", LabelSelector: EventListenerLabel + "!=on-step"}, {Namespace: "web"}},
		matches: []taskRun{{"ci", nil}, {"ci", labels.Set{EventListenerLabel: "github-push"}}, {"web", labels.Set{EventListenerLabel: "on-step"}}},
		skips:   []taskRun{{"ci", labels.Set{EventListenerLabel: "on-step"}}},
	}, {
		name:    "combined with the source's selector",
		cfg:     Config{Namespaces: []string{"ci"}, LabelSelector: "team=a", ExcludeEventListener: onStep},
		want:    []Watch{{Namespace: "ci", LabelSelector: "team=a," + EventListenerLabel + "!=on-step"}},
		matches: []taskRun{{"ci", labels.Set{"team": "a"}}, {"ci", labels.Set{"team": "a", EventListenerLabel: "other"}}},
		skips:   []taskRun{{"ci", nil}, {"ci", labels.Set{"team": "b"}}, {"ci", labels.Set{"team": "a", EventListenerLabel: "on-step"}}},
	}, {
		name:    "cluster-wide",
		cfg:     Config{AllNamespaces: true, LabelSelector: "team=a"},
		want:    []Watch{{LabelSelector: "team=a"}},
		matches: []taskRun{{"ci", labels.Set{"team": "a"}}, {"web", labels.Set{"team": "a", EventListenerLabel: "on-step"}}},
		skips:   []taskRun{{"ci", nil}},
	}, {
		name: "cluster-wide with an EventListener: its namespace apart",
		cfg:  Config{AllNamespaces: true, ExcludeEventListener: onStep},
		want: []Watch{
			{Namespace: "ci", LabelSelector: EventListenerLabel + "!=on-step"},
			{FieldSelector: "metadata.namespace!=ci"},
		},
		matches: []taskRun{{"ci", nil}, {"web", labels.Set{EventListenerLabel: "on-step"}}},
		skips:   []taskRun{{"ci", labels.Set{EventListenerLabel: "on-step"}}},
	}, {
		name:    "namespaces through one cluster-wide watch",
		cfg:     Config{Namespaces: []string{"ci", "web"}, ClusterWatch: true, LabelSelector: "team=a"},
		want:    []Watch{{LabelSelector: "team=a"}},
		matches: []taskRun{{"ci", labels.Set{"team": "a"}}, {"web", labels.Set{"team": "a"}}},
		skips:   []taskRun{{"ci", nil}, {"other", labels.Set{"team": "a"}}},
	}, {
		name: "namespaces through one cluster-wide watch, the EventListener's among them",
		cfg:  Config{Namespaces: []string{"ci", "web"}, ClusterWatch: true, ExcludeEventListener: onStep},
		want: []Watch{
			{Namespace: "ci", LabelSelector: EventListenerLabel + "!=on-step"},
			{FieldSelector: "metadata.namespace!=ci"},
		},
		matches: []taskRun{{"ci", nil}, {"web", labels.Set{EventListenerLabel: "on-step"}}},
		skips:   []taskRun{{"ci", labels.Set{EventListenerLabel: "on-step"}}, {"other", nil}},
	}, {
		name:    "namespaces through one cluster-wide watch, the EventListener elsewhere",
		cfg:     Config{Namespaces: []string{"web"}, ClusterWatch: true, ExcludeEventListener: onStep},
		want:    []Watch{{}},
		matches: []taskRun{{"web", labels.Set{EventListenerLabel: "on-step"}}},
		skips:   []taskRun{{"ci", nil}, {"ci", labels.Set{EventListenerLabel: "on-step"}}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.cfg.Watches()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("Watches (-want +got):\n%s", diff)
			}
			for _, tr := range tc.matches {
				if n := selecting(t, tc.cfg, got, tr); n != 1 {
					t.Errorf("%d watches select %v, want 1", n, tr)
				}
			}
			for _, tr := range tc.skips {
				if n := selecting(t, tc.cfg, got, tr); n != 0 {
					t.Errorf("%d watches select %v, want none", n, tr)
				}
			}
		})
	}
}

type taskRun struct {
	namespace string
	labels    labels.Set
}

// selecting counts the watches whose selectors, parsed from the strings
// the apiserver gets, select the TaskRun, none when the adapter keeps its
// namespace out (Watched).
func selecting(t *testing.T, cfg Config, watches []Watch, tr taskRun) int {
	t.Helper()
	if !cfg.Watched(tr.namespace) {
		return 0
	}
	n := 0
	for _, w := range watches {
		ls, err := labels.Parse(w.LabelSelector)
		if err != nil {
			t.Fatalf("label selector %q does not parse: %v", w.LabelSelector, err)
		}
		fs, err := fields.ParseSelector(w.FieldSelector)
		if err != nil {
			t.Fatalf("field selector %q does not parse: %v", w.FieldSelector, err)
		}
		if (w.Namespace == "" || w.Namespace == tr.namespace) && ls.Matches(tr.labels) &&
			fs.Matches(fields.Set{"metadata.namespace": tr.namespace}) {
			n++
		}
	}
	return n
}

func TestWatched(t *testing.T) {
	tests := []struct {
		cfg       Config
		namespace string
		want      bool
	}{
		{Config{AllNamespaces: true}, "any", true},
		{Config{Namespaces: []string{"ci", "web"}}, "web", true},
		{Config{Namespaces: []string{"ci", "web"}, ClusterWatch: true}, "web", true},
		{Config{Namespaces: []string{"ci", "web"}, ClusterWatch: true}, "other", false},
		{Config{Namespaces: []string{"ci"}}, "", false},
	}
	for _, tc := range tests {
		if got := tc.cfg.Watched(tc.namespace); got != tc.want {
			t.Errorf("%+v: Watched(%q) = %v, want %v", tc.cfg, tc.namespace, got, tc.want)
		}
	}
}

func TestDecode(t *testing.T) {
	const id = `"sourceUID":"4d9d2337-7988-43b0-8b80-0dc3a12a0e67","sourceName":"steps","sourceNamespace":"ci"`
	tests := []struct {
		name, json, wantErr string
	}{
		{name: "valid", json: `{` + id + `,"namespaces":["ci"],"labelSelector":"team=a","excludeEventListener":{"name":"on-step","namespace":"ci"},"logMaxBytes":10}`},
		{name: "not JSON", json: `{`, wantErr: "parsing K_SOURCE_CONFIG"},
		{name: "nothing to watch", json: `{` + id + `}`, wantErr: "no namespaces to watch"},
		{name: "no source UID", json: `{"sourceName":"s","sourceNamespace":"ci","allNamespaces":true}`, wantErr: "sourceUID, sourceName and sourceNamespace are required"},
		{name: "no source namespace", json: `{"sourceUID":"u","sourceName":"s","allNamespaces":true}`, wantErr: "sourceUID, sourceName and sourceNamespace are required"},
		{name: "source UID unfit for a name", json: `{"sourceUID":"U/1","sourceName":"s","sourceNamespace":"ci","allNamespaces":true}`, wantErr: `sourceUID "U/1"`},
		{name: "negative log cap", json: `{` + id + `,"allNamespaces":true,"logMaxBytes":-1}`, wantErr: "logMaxBytes must not be negative"},
		{name: "bad selector", json: `{` + id + `,"allNamespaces":true,"labelSelector":"a in (b"}`, wantErr: "labelSelector"},
		{name: "bad EventListener name", json: `{` + id + `,"allNamespaces":true,"excludeEventListener":{"name":"a b","namespace":"ci"}}`, wantErr: "excludeEventListener.name"},
		{name: "EventListener without namespace", json: `{` + id + `,"allNamespaces":true,"excludeEventListener":{"name":"on-step"}}`, wantErr: "excludeEventListener.namespace"},
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

func TestParseMaskPatterns(t *testing.T) {
	if _, err := ParseMaskPatterns("# ours\n\\bok\\b\n\n  a(b  \n"); err == nil || !strings.Contains(err.Error(), `"a(b"`) {
		t.Errorf("ParseMaskPatterns = %v, want an error naming the pattern", err)
	}
	got, err := ParseMaskPatterns("# ours\n\\bACME-[0-9]+\\b\n\n  x{3}  \n")
	if diff := cmp.Diff([]string{`\bACME-[0-9]+\b`, "x{3}"}, got); err != nil || diff != "" {
		t.Errorf("ParseMaskPatterns (-want +got):\n%s (%v)", diff, err)
	}
}
