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
	"context"

	"k8s.io/client-go/rest"

	"github.com/tektonstep/tekton-step-source/test/controlplane"
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

func readTaskRunRequests(ctx context.Context, cfg *rest.Config) (taskRunRequests, error) {
	metrics, err := controlplane.APIServerMetrics(ctx, cfg, "apiserver_request_total", "apiserver_longrunning_requests")
	if err != nil {
		return taskRunRequests{}, err
	}
	sum := func(family, verb string) float64 {
		var total float64
		for _, s := range metrics[family] {
			if l := s.Labels; l["group"] == "tekton.dev" && l["resource"] == "taskruns" && l["subresource"] == "" && l["verb"] == verb {
				total += s.Value
			}
		}
		return total
	}
	return taskRunRequests{lists: sum("apiserver_request_total", "LIST"), watches: sum("apiserver_longrunning_requests", "WATCH")}, nil
}
