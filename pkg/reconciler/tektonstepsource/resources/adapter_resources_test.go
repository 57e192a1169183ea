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

package resources

import (
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

func TestParseAdapterResources(t *testing.T) {
	q := resource.MustParse
	tests := []struct {
		name, value string
		want        corev1.ResourceRequirements
		wantErr     string
	}{{
		name: "empty: the default", value: " \n",
		want: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: q("50m"), corev1.ResourceMemory: q("64Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: q("256Mi")},
		},
	}, {
		name: "YAML", value: "requests: {cpu: 100m, memory: 128Mi}\nlimits: {cpu: '1', memory: 1Gi, ephemeral-storage: 1Gi}\n",
		want: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: q("100m"), corev1.ResourceMemory: q("128Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: q("1"), corev1.ResourceMemory: q("1Gi"), corev1.ResourceEphemeralStorage: q("1Gi")},
		},
	}, {
		name: "JSON, limits only", value: `{"limits":{"memory":"512Mi"}}`,
		want: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: q("512Mi")}},
	}, {
		name: "a misspelt field", value: "limit: {memory: 1Gi}", wantErr: `unknown field "limit"`,
	}, {
		name: "a misspelt resource", value: "limits: {memroy: 1Gi}", wantErr: "limits.memroy: only cpu, memory and ephemeral-storage are supported",
	}, {
		name: "not a quantity", value: "limits: {memory: lots}", wantErr: "quantities must match",
	}, {
		name: "a request above its limit", value: "requests: {memory: 1Gi}\nlimits: {memory: 256Mi}",
		wantErr: "requests.memory (1Gi) exceeds limits.memory (256Mi)",
	}, {
		name: "zero", value: "limits: {memory: '0'}", wantErr: "limits.memory: must be positive, got 0",
	}, {
		name: "claims", value: "claims: [{name: gpu}]", wantErr: "claims are not supported",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAdapterResources(tc.value)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), AdapterConfigMap+": resources") {
					t.Fatalf("error = %v, want one naming %s: resources and saying %q", err, AdapterConfigMap, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equality.Semantic.DeepEqual(tc.want, got) {
				t.Errorf("resources = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestAdapterConfigMapExample: the example the shipped ConfigMap shows is
// the default that applies without it.
func TestAdapterConfigMapExample(t *testing.T) {
	raw, err := os.ReadFile("../../../../config/400-config-adapter.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := yaml.Unmarshal(raw, &cm); err != nil {
		t.Fatal(err)
	}
	if cm.Name != AdapterConfigMap || cm.Data[AdapterResourcesKey] != "" {
		t.Fatalf("config/400-config-adapter.yaml: ConfigMap %s with data keys %v, want %s with only _example", cm.Name, cm.Data, AdapterConfigMap)
	}
	var example map[string]string
	if err := yaml.UnmarshalStrict([]byte(cm.Data["_example"]), &example); err != nil {
		t.Fatal(err)
	}
	got, err := ParseAdapterResources(example[AdapterResourcesKey])
	if err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(DefaultAdapterResources(), got) || len(example) != 1 {
		t.Errorf("_example %v = %+v, want only %s: the default %+v", example, got, AdapterResourcesKey, DefaultAdapterResources())
	}
}
