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

package masking

import (
	"slices"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
)

// PodSecretNames are the Secrets a step's container references in its pod
// (sorted, once each): env valueFrom.secretKeyRef, envFrom secretRef, and
// the Secret volumes (and projected Secret sources) it mounts. The pod is
// what ran: it includes the workspaces bound to Secrets and the credentials
// Tekton mounts from the TaskRun's service account. No container of that
// name: none.
func PodSecretNames(pod *corev1.Pod, container string) []string {
	for i := range pod.Spec.Containers {
		if c := &pod.Spec.Containers[i]; c.Name == container {
			return secretNames(c.Env, c.EnvFrom, c.VolumeMounts, pod.Spec.Volumes)
		}
	}
	return nil
}

// StepSecretNames are the Secrets a step of the resolved task spec
// references (with the step template's env), and those the TaskRun's
// workspaces are bound to, for when its pod is gone. Every such workspace
// counts, whichever steps mount it: Tekton mounts a workspace in every
// step unless it is isolated, and masking a value a step could not read
// costs nothing. (The credentials Tekton mounts from the service account
// are known only from the pod.)
func StepSecretNames(spec *pipelinev1.TaskSpec, step *pipelinev1.Step, workspaces []pipelinev1.WorkspaceBinding) []string {
	env, envFrom := step.Env, step.EnvFrom
	if t := spec.StepTemplate; t != nil {
		env = append(slices.Clone(env), t.Env...)
		envFrom = append(slices.Clone(envFrom), t.EnvFrom...)
	}
	names := secretNames(env, envFrom, step.VolumeMounts, spec.Volumes)
	for _, w := range workspaces {
		names = append(names, volumeSecretNames(w.Secret, w.Projected)...)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func secretNames(env []corev1.EnvVar, envFrom []corev1.EnvFromSource, mounts []corev1.VolumeMount, volumes []corev1.Volume) []string {
	var names []string
	for _, e := range env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			names = append(names, e.ValueFrom.SecretKeyRef.Name)
		}
	}
	for _, e := range envFrom {
		if e.SecretRef != nil {
			names = append(names, e.SecretRef.Name)
		}
	}
	mounted := map[string]bool{}
	for _, m := range mounts {
		mounted[m.Name] = true
	}
	for _, v := range volumes {
		if !mounted[v.Name] {
			continue
		}
		names = append(names, volumeSecretNames(v.Secret, v.Projected)...)
	}
	slices.Sort(names)
	return slices.Compact(slices.DeleteFunc(names, func(n string) bool { return n == "" }))
}

// volumeSecretNames are the Secrets a volume (or a workspace binding)
// takes its files from.
func volumeSecretNames(secret *corev1.SecretVolumeSource, projected *corev1.ProjectedVolumeSource) []string {
	var names []string
	if secret != nil && secret.SecretName != "" {
		names = append(names, secret.SecretName)
	}
	if projected != nil {
		for _, src := range projected.Sources {
			if src.Secret != nil && src.Secret.Name != "" {
				names = append(names, src.Secret.Name)
			}
		}
	}
	return names
}
