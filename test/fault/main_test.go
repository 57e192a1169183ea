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

// Package fault runs the receive adapter through faults — sink outages,
// SIGKILLs, an apiserver restart, a slow sink, planted secrets — against a
// real kube-apiserver of its own (it restarts it) and a real CloudEvents
// receiver, and logs the figures.
package fault

import (
	"os"
	"testing"

	"github.com/tektonstep/tekton-step-source/test/controlplane"
)

var cp *controlplane.ControlPlane

func TestMain(m *testing.M) { os.Exit(controlplane.RunTests(m, &cp)) }
