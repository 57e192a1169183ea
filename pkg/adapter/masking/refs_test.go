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
	"testing"

	"github.com/google/go-cmp/cmp"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
)

func secretKeyRef(secret string) corev1.EnvVar {
	return corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: "k"}}}
}

func TestPodSecretNames(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		Containers: []corev1.Container{{
			Name: "step-deploy",
			Env: []corev1.EnvVar{secretKeyRef("token"), {Name: "PLAIN", Value: "v"},
				{Name: "CM", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}}},
				secretKeyRef("token")},
			EnvFrom:      []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}}}, {ConfigMapRef: &corev1.ConfigMapEnvSource{}}},
			VolumeMounts: []corev1.VolumeMount{{Name: "creds"}, {Name: "projected"}, {Name: "workspace"}},
		}, {
			Name: "step-other",
			Env:  []corev1.EnvVar{secretKeyRef("not-this-step")},
		}},
		Volumes: []corev1.Volume{
			{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "git-ssh"}}},
			{Name: "projected", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "registry"}}},
				{ConfigMap: &corev1.ConfigMapProjection{}}}}}},
			{Name: "workspace", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "unmounted", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "elsewhere"}}},
		},
	}}
	if diff := cmp.Diff([]string{"db", "git-ssh", "registry", "token"}, PodSecretNames(pod, "step-deploy")); diff != "" {
		t.Errorf("PodSecretNames (-want +got):\n%s", diff)
	}
	if got := PodSecretNames(pod, "step-missing"); got != nil {
		t.Errorf("a container the pod does not have references %v", got)
	}
}

func TestStepSecretNames(t *testing.T) {
	spec := &pipelinev1.TaskSpec{
		StepTemplate: &pipelinev1.StepTemplate{Env: []corev1.EnvVar{secretKeyRef("template")}},
		Volumes:      []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "mounted"}}}},
		Steps: []pipelinev1.Step{{
			Name: "s", Env: []corev1.EnvVar{secretKeyRef("own")}, VolumeMounts: []corev1.VolumeMount{{Name: "v"}},
			EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "all"}}}},
		}},
	}
	workspaces := []pipelinev1.WorkspaceBinding{
		{Name: "source", PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "src"}},
		{Name: "creds", Secret: &corev1.SecretVolumeSource{SecretName: "workspace-secret"}},
		{Name: "cfg", Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "projected"}}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "not-a-secret"}}},
		}}},
		{Name: "again", Secret: &corev1.SecretVolumeSource{SecretName: "own"}},
	}
	want := []string{"all", "mounted", "own", "projected", "template", "workspace-secret"}
	if diff := cmp.Diff(want, StepSecretNames(spec, &spec.Steps[0], workspaces)); diff != "" {
		t.Errorf("StepSecretNames (-want +got):\n%s", diff)
	}
}
