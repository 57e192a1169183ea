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

// Command kn-source-tektonstep is the kn plugin for TektonStepSources. On
// the PATH, kn runs it for `kn source tektonstep ...`; it also runs on its
// own (`kn-source-tektonstep list`). hack/build-kn-plugin.sh builds it.
package main

import (
	"os"

	"github.com/tektonstep/tekton-step-source/pkg/knplugin"
)

func main() {
	os.Exit(knplugin.Main(os.Args[1:], os.Stdout, os.Stderr))
}
