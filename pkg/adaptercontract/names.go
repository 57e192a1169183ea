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
	"fmt"
	"regexp"
	"strings"
	"time"

	"knative.dev/pkg/kmeta"
)

// DefaultSinkTimeout bounds one request to the sink, and each log read and
// checkpoint write, unless configured otherwise: a sink that accepts a
// connection and never answers holds a delivery worker no longer. The
// controller passes it to the adapter as adapter/v2's K_SINK_TIMEOUT.
const DefaultSinkTimeout = 30 * time.Second

// ResyncInterval is how often, at least, the controller reconciles every
// source: it recreates the journal ConfigMap and the Leases the adapter
// uses and cannot create, and checks a user-provided account again.
const ResyncInterval = 5 * time.Minute

const (
	// Component names the receive adapter: adapter/v2 logs and measures
	// under it, its log level is `loglevel.tekton-step-source-adapter` in
	// config-logging (the controller passes that configuration on), and its
	// bucket Leases are named after it (LeaseName).
	Component = "tekton-step-source-adapter"

	// SourceLabel carries the (kmeta.ChildName-shortened) name of the source
	// on every object made for it: its Deployment, ServiceAccount, Role,
	// RoleBinding, journal ConfigMap and Leases.
	SourceLabel = "sources.knative.dev/tektonstepsource"
)

// JournalName is the name of the progress journal ConfigMap of the source
// with the given UID, in the source's namespace: the controller creates it
// and grants the adapter get and patch of it by name; the adapter writes it. The UID makes it
// unique: a source recreated with the same name starts a new journal, never
// the one of its predecessor awaiting garbage collection.
func JournalName(sourceUID string) string { return "tekton-step-progress-" + sourceUID }

// AdapterName is the name of the source's adapter Deployment (and of the
// per-source ServiceAccount, Role and RoleBinding): the source's name and
// -tektonstep-adapter, with a long name cut and hashed to fit 63
// characters (kmeta.ChildName). The controller names them so, and the kn
// plugin shows it.
func AdapterName(sourceName string) string { return kmeta.ChildName(sourceName, "-tektonstep-adapter") }

// LeaseName is the name of the Lease of bucket i of n of the source's
// replicas, in the source's namespace: `<Component>.<source>.<i>-of-<n>`,
// the form knative.dev/pkg's leader election gives bucket Leases. The
// controller creates the Leases and grants the adapter get and update of
// them by name; the adapter's elector uses exactly these names.
func LeaseName(sourceName string, i, n uint32) string {
	return strings.ToLower(fmt.Sprintf("%s.%s.%02d-of-%02d", Component, kmeta.ChildName(sourceName, ""), i, n))
}

// MaskingConfigMap is the controller's ConfigMap of extra token patterns to
// mask in every event (key MaskingPatternsKey); the controller passes them
// to every adapter (Config.MaskPatterns).
const (
	MaskingConfigMap   = "config-masking"
	MaskingPatternsKey = "patterns"
)

// ParseMaskPatterns reads the patterns of the masking ConfigMap: one RE2
// regular expression per line; blank lines and lines starting with # are
// skipped. An invalid one is an error naming it.
func ParseMaskPatterns(text string) ([]string, error) {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if _, err := regexp.Compile(line); err != nil {
			return nil, fmt.Errorf("%s: pattern %q: %w", MaskingConfigMap, line, err)
		}
		out = append(out, line)
	}
	return out, nil
}
