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

	"github.com/kelseyhightower/envconfig"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
)

// TestEnvConfigNames: the adapter reads the variables by the names the
// controller sets them under.
func TestEnvConfigNames(t *testing.T) {
	t.Setenv(adaptercontract.EnvName, `{"sourceUID":"u"}`)
	t.Setenv(adaptercontract.EnvDeployment, "steps-tektonstep-adapter")
	var e EnvConfig
	if err := envconfig.Process("", &e); err != nil {
		t.Fatal(err)
	}
	if e.SourceConfig != `{"sourceUID":"u"}` || e.Deployment != "steps-tektonstep-adapter" {
		t.Errorf("read %q and %q, want the values set", e.SourceConfig, e.Deployment)
	}
}
