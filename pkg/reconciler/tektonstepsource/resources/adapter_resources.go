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
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

const (
	// AdapterConfigMap is the controller's ConfigMap of what every receive
	// adapter's container gets; key AdapterResourcesKey holds its resources.
	AdapterConfigMap    = "config-tektonstep-adapter"
	AdapterResourcesKey = "resources"
)

// DefaultAdapterResources are an adapter container's resources when
// AdapterConfigMap sets none. The memory limit is about three times the
// peak RSS hack/bench.sh measures with 5,000 TaskRuns cached (69–84 MiB,
// docs/benchmarks.md); the requests are what an adapter of a few hundred
// TaskRuns uses, so that small sources do not reserve much of a node.
func DefaultAdapterResources() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("50m"),
			corev1.ResourceMemory: resource.MustParse("64Mi"),
		},
		Limits: corev1.ResourceList{
			corev1.ResourceMemory: resource.MustParse("256Mi"),
		},
	}
}

// ParseAdapterResources reads the value of AdapterResourcesKey: a
// container's resources (requests and limits of cpu, memory and
// ephemeral-storage) in YAML or JSON; empty is DefaultAdapterResources.
// Anything else is refused with the reason, so that a typo is reported
// instead of becoming a Deployment the apiserver refuses, or a pod without
// its limit.
func ParseAdapterResources(value string) (corev1.ResourceRequirements, error) {
	if strings.TrimSpace(value) == "" {
		return DefaultAdapterResources(), nil
	}
	var r corev1.ResourceRequirements
	if err := yaml.UnmarshalStrict([]byte(value), &r); err != nil {
		return r, fmt.Errorf("%s: %s: %w", AdapterConfigMap, AdapterResourcesKey, err)
	}
	var errs []error
	if len(r.Claims) > 0 {
		errs = append(errs, errors.New("claims are not supported"))
	}
	for _, l := range []struct {
		kind string
		list corev1.ResourceList
	}{{"requests", r.Requests}, {"limits", r.Limits}} {
		kind := l.kind
		for _, name := range slices.Sorted(maps.Keys(l.list)) {
			q := l.list[name]
			switch name {
			case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
			default:
				errs = append(errs, fmt.Errorf("%s.%s: only cpu, memory and ephemeral-storage are supported", kind, name))
			}
			if q.Sign() <= 0 {
				errs = append(errs, fmt.Errorf("%s.%s: must be positive, got %s", kind, name, q.String()))
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.Requests)) {
		if req, limit := r.Requests[name], r.Limits[name]; !limit.IsZero() && req.Cmp(limit) > 0 {
			errs = append(errs, fmt.Errorf("requests.%s (%s) exceeds limits.%s (%s)", name, req.String(), name, limit.String()))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return r, fmt.Errorf("%s: %s: %w", AdapterConfigMap, AdapterResourcesKey, err)
	}
	return r, nil
}
