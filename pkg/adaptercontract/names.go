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

import "time"

// DefaultSinkTimeout bounds one request to the sink, and each log read and
// checkpoint write, unless configured otherwise: a sink that accepts a
// connection and never answers holds a delivery worker no longer. The
// controller passes it to the adapter as adapter/v2's K_SINK_TIMEOUT.
const DefaultSinkTimeout = 30 * time.Second

const (
	// Component names the receive adapter: adapter/v2 logs and measures
	// under it, its log level is `loglevel.tekton-step-source-adapter` in
	// config-logging (the controller passes that configuration on), and its
	// bucket Leases are named `<Component>.<source>.<i>-of-<n>`.
	Component = "tekton-step-source-adapter"

	// SourceLabel carries the (kmeta.ChildName-shortened) name of the source
	// on every object made for it: the controller's Deployment,
	// ServiceAccount and RoleBinding, and the adapter's journal ConfigMap.
	SourceLabel = "sources.knative.dev/tektonstepsource"
)

// JournalName is the name of the progress journal ConfigMap of the source
// with the given UID, in the source's namespace: the adapter writes it, the
// controller checks that a user-provided account may. The UID makes it
// unique: a source recreated with the same name starts a new journal, never
// the one of its predecessor awaiting garbage collection.
func JournalName(sourceUID string) string { return "tekton-step-progress-" + sourceUID }
