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

// Command controller runs the TektonStepSource controller: for every source
// it resolves the sink, sets up the adapter's permissions and runs the
// receive adapter Deployment; and it releases the TaskRuns a source's
// deletion guard holds when its adapter cannot (pkg/reconciler/guard). config/500-controller.yaml deploys it; it reads
// its logging, observability and leader election ConfigMaps from
// SYSTEM_NAMESPACE and the adapter image from TEKTON_STEP_SOURCE_RA_IMAGE.
package main

import (
	"knative.dev/pkg/injection/sharedmain"
	"knative.dev/pkg/signals"

	"github.com/tektonstep/tekton-step-source/pkg/reconciler/guard"
	"github.com/tektonstep/tekton-step-source/pkg/reconciler/tektonstepsource"
)

func main() {
	ctx := tektonstepsource.WithInformerSelectors(signals.NewContext())
	sharedmain.MainWithContext(ctx, tektonstepsource.Component, tektonstepsource.NewController, guard.NewController)
}
