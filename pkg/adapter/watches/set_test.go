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

package watches

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	faketekton "github.com/tektoncd/pipeline/pkg/client/clientset/versioned/fake"
	tektoninformers "github.com/tektoncd/pipeline/pkg/client/informers/externalversions"
	corev1 "k8s.io/api/core/v1"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// TestWatchSet: which watch serves which namespace as namespaces join and
// leave (the informers are built, not run).
func TestWatchSet(t *testing.T) {
	type step struct {
		namespaces         []string
		joined, left       []string
		watches            int
		served, notWatched []string // by the cluster-wide watch; by none
		ownWatch           []string
	}
	tests := []struct {
		name  string
		cfg   adaptercontract.Config
		first []string
		steps []step
	}{{
		name:  "a watch per namespace",
		cfg:   adaptercontract.Config{NamespacesFromStatus: true},
		first: []string{"a"},
		steps: []step{
			{namespaces: []string{"a", "b"}, joined: []string{"b"}, watches: 2, ownWatch: []string{"a", "b"}, notWatched: []string{"c"}},
			{namespaces: []string{"b"}, left: []string{"a"}, watches: 1, ownWatch: []string{"b"}, notWatched: []string{"a"}},
			{namespaces: []string{"b"}, watches: 1, ownWatch: []string{"b"}},
		},
	}, {
		name:  "one cluster-wide watch for the first namespaces",
		cfg:   adaptercontract.Config{NamespacesFromStatus: true, ClusterWatch: true},
		first: []string{"a", "b"},
		steps: []step{
			{namespaces: []string{"a", "b"}, watches: 1, served: []string{"a", "b"}, notWatched: []string{"c"}},
			// c joins with a watch of its own; a leaves the cluster-wide one.
			{namespaces: []string{"b", "c"}, joined: []string{"c"}, left: []string{"a"}, watches: 2, served: []string{"b"}, ownWatch: []string{"c"}, notWatched: []string{"a"}},
			// a comes back: the cluster-wide watch cached it as names only.
			{namespaces: []string{"a", "b", "c"}, joined: []string{"a"}, watches: 3, served: []string{"b"}, ownWatch: []string{"a", "c"}},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			factory := tektoninformers.NewSharedInformerFactory(faketekton.NewSimpleClientset(), 0)
			s := NewSet(&tc.cfg, func(adaptercontract.Watch, func(string) bool) *Watch {
				inf := factory.Tekton().V1().TaskRuns()
				return &Watch{informer: inf.Informer(), lister: inf.Lister(), stop: make(chan struct{})}
			})
			if _, _, applied := s.SetNamespaces([]string{"x"}); applied {
				t.Fatal("setNamespaces applied before init")
			}
			if err := s.Init(tc.first); err != nil {
				t.Fatal(err)
			}
			for i, st := range tc.steps {
				joined, left, applied := s.SetNamespaces(st.namespaces)
				if !applied || !cmp.Equal(st.joined, joined) || !cmp.Equal(st.left, left) {
					t.Errorf("step %d: joined %v, left %v (applied %v), want %v, %v", i, joined, left, applied, st.joined, st.left)
				}
				if got := s.Count(); got != st.watches {
					t.Errorf("step %d: %d watches, want %d", i, got, st.watches)
				}
				for _, ns := range st.served {
					if !s.handledByCluster(ns) || s.Lister(ns) == nil || !s.watching(ns) {
						t.Errorf("step %d: %s not served by the cluster-wide watch", i, ns)
					}
				}
				for _, ns := range st.ownWatch {
					if s.handledByCluster(ns) || s.Lister(ns) == nil || !s.watching(ns) {
						t.Errorf("step %d: %s not served by a watch of its own", i, ns)
					}
				}
				for _, ns := range st.notWatched {
					if s.handledByCluster(ns) || s.Lister(ns) != nil || s.watching(ns) {
						t.Errorf("step %d: %s watched", i, ns)
					}
				}
			}
		})
	}
}

func TestConfirmed(t *testing.T) {
	source := func(status corev1.ConditionStatus, namespaces ...string) *v1alpha1.TektonStepSource {
		src := &v1alpha1.TektonStepSource{}
		src.Status.Namespaces = namespaces
		if status != "" {
			src.Status.Conditions = duckv1.Conditions{{Type: v1alpha1.TektonStepSourceConditionSufficientPermissions, Status: status}}
		}
		return src
	}
	tests := []struct {
		name string
		src  *v1alpha1.TektonStepSource
		want []string
		ok   bool
	}{
		{"confirmed, sorted", source(corev1.ConditionTrue, "web", "ci"), []string{"ci", "web"}, true},
		{"confirmed, none", source(corev1.ConditionTrue), nil, true},
		{"refused", source(corev1.ConditionFalse), nil, false},
		{"not yet reconciled", source(""), nil, false},
		{"being checked", source(corev1.ConditionUnknown, "ci"), nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Confirmed(tc.src)
			if ok != tc.ok || !cmp.Equal(tc.want, got) {
				t.Errorf("Confirmed = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
