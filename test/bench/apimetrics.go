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

// This file reads the kube-apiserver's own metrics: how many TaskRun LIST
// requests it served and how many TaskRun WATCH requests are open, which is
// what a contender costs the apiserver, counted where it is paid.

package main

import (
	"bytes"
	"context"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/kubernetes"
)

// taskRunRequests is what the apiserver reports about TaskRun requests.
type taskRunRequests struct {
	// lists: LIST requests served (apiserver_request_total, counted when
	// a request ends).
	lists float64
	// watches: WATCH requests open now (apiserver_longrunning_requests; a
	// watch is counted in apiserver_request_total only when it ends).
	watches float64
}

func readTaskRunRequests(ctx context.Context, kube kubernetes.Interface) (taskRunRequests, error) {
	raw, err := kube.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return taskRunRequests{}, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		return taskRunRequests{}, err
	}
	sum := func(family, verb string, value func(*dto.Metric) float64) float64 {
		var total float64
		f := families[family]
		if f == nil {
			return 0
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["group"] == "tekton.dev" && labels["resource"] == "taskruns" && labels["subresource"] == "" && labels["verb"] == verb {
				total += value(m)
			}
		}
		return total
	}
	return taskRunRequests{
		lists:   sum("apiserver_request_total", "LIST", func(m *dto.Metric) float64 { return m.GetCounter().GetValue() }),
		watches: sum("apiserver_longrunning_requests", "WATCH", func(m *dto.Metric) float64 { return m.GetGauge().GetValue() }),
	}, nil
}
