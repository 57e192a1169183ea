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

// Package sources holds the API group shared by the versions of the
// TektonStepSource API.
package sources

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
)

const (
	// GroupName is the API group of TektonStepSource. It is the group of
	// Knative's own sources, so `kn source list` and the Knative source duck
	// type tooling treat TektonStepSource like any other source.
	GroupName = "sources.knative.dev"
)

// TektonStepSourceResource is the group-resource of TektonStepSource.
var TektonStepSourceResource = schema.GroupResource{
	Group:    GroupName,
	Resource: "tektonstepsources",
}
