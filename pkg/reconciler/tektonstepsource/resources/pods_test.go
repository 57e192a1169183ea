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
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestTrimTaskRunPod: the controller's cache keeps of a TaskRun pod what
// the Role's names come from, and no literal value, status or image.
func TestTrimTaskRunPod(t *testing.T) {
	ref := func(name string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: "k"}}
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "build-pod", Namespace: "ci", Labels: map[string]string{TaskRunPodSelector: "build"},
			Annotations: map[string]string{"note": "x"}},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "prepare", Image: "entrypoint"}},
			Containers: []corev1.Container{{
				Name: "step-compile", Image: "golang",
				Env: []corev1.EnvVar{{Name: "TOKEN", ValueFrom: ref("token")}, {Name: "PASSWORD", Value: "hunter2"},
					{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}}},
				VolumeMounts: []corev1.VolumeMount{{Name: "keys", MountPath: "/keys"}},
			}, {
				Name: "sidecar-db", Env: []corev1.EnvVar{{Name: "ADMIN", ValueFrom: ref("db-admin")}},
			}},
			Volumes: []corev1.Volume{
				{Name: "keys", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "ssh-keys"}}},
				{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Message: "running"},
	}
	got, err := TrimTaskRunPod(pod)
	if err != nil {
		t.Fatal(err)
	}
	want := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "build-pod", Namespace: "ci", Labels: map[string]string{TaskRunPodSelector: "build"}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: "step-compile", Env: []corev1.EnvVar{{Name: "TOKEN", ValueFrom: ref("token")}},
				VolumeMounts: []corev1.VolumeMount{{Name: "keys", MountPath: "/keys"}},
			}},
			Volumes: []corev1.Volume{{Name: "keys", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "ssh-keys"}}}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trimmed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(MaskAccessTo([]*corev1.Pod{pod}), MaskAccessTo([]*corev1.Pod{got.(*corev1.Pod)})); diff != "" {
		t.Errorf("the trimmed pod grants otherwise (-whole +trimmed):\n%s", diff)
	}
	if other, _ := TrimTaskRunPod("not a pod"); other != "not a pod" {
		t.Errorf("a non-pod was changed to %v", other)
	}
}
