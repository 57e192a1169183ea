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

// Command receive_adapter watches Tekton TaskRuns and sends one CloudEvent per
// step transition to K_SINK. The controller deploys one per TektonStepSource;
// it also runs by hand with the environment variables documented in
// docs/install.md ("Running the adapter by hand") and a KUBECONFIG.
package main

import (
	"knative.dev/eventing/pkg/adapter/v2"
	"knative.dev/eventing/pkg/auth"
	"knative.dev/eventing/pkg/eventingtls"
	filteredFactory "knative.dev/pkg/client/injection/kube/informers/factory/filtered"
	"knative.dev/pkg/signals"

	stepadapter "github.com/tektonstep/tekton-step-source/pkg/adapter"
	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
)

func main() {
	// As Knative's ApiServerSource adapter: injection provides the kube
	// client (from --kubeconfig, $KUBECONFIG or the pod's service account)
	// that adapter/v2 uses for OIDC tokens and CA trust bundles.
	ctx := adapter.WithInjectorEnabled(signals.NewContext())
	ctx = filteredFactory.WithSelectors(ctx, auth.OIDCLabelSelector, eventingtls.TrustBundleLabelSelector)
	adapter.MainWithContext(ctx, adaptercontract.Component, stepadapter.NewEnvConfig, stepadapter.NewAdapter)
}
