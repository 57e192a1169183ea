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

package adapter

import (
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	tektonfake "github.com/tektoncd/pipeline/pkg/client/clientset/versioned/fake"
	"go.opentelemetry.io/otel/metric/noop"
	"go.uber.org/zap/zaptest"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	sourcesfake "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned/fake"
)

// testAdapter is an Adapter built by New, as the binary's is, not started:
// against fake clientsets and a sink nothing listens on, unless tweak
// sets others. cfg watches namespace ci unless it says otherwise. Tests
// never build an Adapter literal: one that lacks a component a path
// gains would fail for the wrong reason.
func testAdapter(t *testing.T, cfg *adaptercontract.Config, tweak func(*Options)) *Adapter {
	t.Helper()
	if cfg.SourceUID == "" {
		cfg.SourceUID = "src"
	}
	if cfg.SourceName == "" {
		cfg.SourceName, cfg.SourceNamespace = "steps", "ci"
	}
	if len(cfg.Namespaces) == 0 && !cfg.AllNamespaces {
		cfg.Namespaces = []string{"ci"}
	}
	ce, err := cloudevents.NewClientHTTP(cloudevents.WithTarget("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{
		Config:        cfg,
		CloudEvents:   ce,
		Tekton:        tektonfake.NewSimpleClientset(),
		Kube:          fake.NewClientset(),
		Metadata:      metadatafake.NewSimpleMetadataClient(runtime.NewScheme()),
		Sources:       sourcesfake.NewSimpleClientset(),
		Logger:        zaptest.NewLogger(t).Sugar(),
		MeterProvider: noop.NewMeterProvider(),
	}
	if tweak != nil {
		tweak(&opts)
	}
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a.queue.ShutDown()
		a.progress.Saves().ShutDown()
		a.guard.Queue().ShutDown()
	})
	return a
}

// keyOf is the name of TaskRun ci/<name>.
func keyOf(name string) types.NamespacedName {
	return types.NamespacedName{Namespace: "ci", Name: name}
}
