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
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/masking"
)

// This file is what the controller knows of TaskRun pods: with
// spec.masking.secretValues, which pods and Secrets the per-source Role
// grants by name.

// MaskAccessTo is MaskAccess limited to the TaskRun pods of the namespace
// as they are now, the per-source Role's grant: each pod by name, and by
// name each Secret one of its step containers references (the Secrets the
// adapter reads to mask a step's values). Nothing while there are none:
// a rule without names would grant every object.
func MaskAccessTo(pods []*corev1.Pod) []Access {
	var podNames, secretNames []string
	for _, pod := range pods {
		podNames = append(podNames, pod.Name)
		for _, c := range pod.Spec.Containers {
			if strings.HasPrefix(c.Name, stepContainerPrefix) {
				secretNames = append(secretNames, masking.PodSecretNames(pod, c.Name)...)
			}
		}
	}
	var out []Access
	for _, name := range sortedUnique(podNames) {
		out = append(out, Access{Verb: "get", Resource: "pods", Name: name})
	}
	for _, name := range sortedUnique(secretNames) {
		out = append(out, Access{Verb: "get", Resource: "secrets", Name: name})
	}
	return out
}

// stepContainerPrefix starts the name of a step's container in a TaskRun
// pod (Tekton's pod.StepName); sidecars and init containers are no steps.
const stepContainerPrefix = "step-"

// TaskRunPodSelector selects the pods Tekton runs TaskRuns in (they carry
// the TaskRun's name in this label), the pods MaskAccessTo grants.
const TaskRunPodSelector = "tekton.dev/taskRun"

func sortedUnique(names []string) []string {
	slices.Sort(names)
	return slices.Compact(names)
}

// TrimTaskRunPod is the controller's pod informer transform: of a TaskRun
// pod it keeps only what MaskAccessTo reads (its name and, of its step
// containers, the Secret references), so the controller's cache holds no
// pod status, image or literal env value.
func TrimTaskRunPod(obj interface{}) (interface{}, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	kept := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID,
		ResourceVersion: pod.ResourceVersion, Labels: pod.Labels}}
	for _, c := range pod.Spec.Containers {
		if !strings.HasPrefix(c.Name, stepContainerPrefix) {
			continue
		}
		step := corev1.Container{Name: c.Name, EnvFrom: c.EnvFrom, VolumeMounts: c.VolumeMounts}
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				step.Env = append(step.Env, corev1.EnvVar{Name: e.Name, ValueFrom: e.ValueFrom})
			}
		}
		kept.Spec.Containers = append(kept.Spec.Containers, step)
	}
	for _, v := range pod.Spec.Volumes {
		if v.Secret != nil || v.Projected != nil {
			kept.Spec.Volumes = append(kept.Spec.Volumes, v)
		}
	}
	return kept, nil
}
