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

package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// diagnoseNamespace writes what a Deployment that does not become available
// leaves behind in its namespace: the Deployments' and ReplicaSets'
// conditions (a ReplicaSet that cannot create its pods says why only there),
// each pod's phase, node, conditions and container states, and the
// namespace's events, oldest first. A CI log is all a failed setup leaves.
func diagnoseNamespace(ctx context.Context, c kubernetes.Interface, namespace string, w io.Writer) {
	fmt.Fprintf(w, "--- what namespace %s holds\n", namespace)
	if ds, err := c.AppsV1().Deployments(namespace).List(ctx, metav1.ListOptions{}); err != nil {
		fmt.Fprintf(w, "deployments: %v\n", err)
	} else {
		for _, d := range ds.Items {
			fmt.Fprintf(w, "deployment %s: generation %d observed %d, replicas %d updated %d ready %d available %d\n",
				d.Name, d.Generation, d.Status.ObservedGeneration, d.Status.Replicas, d.Status.UpdatedReplicas,
				d.Status.ReadyReplicas, d.Status.AvailableReplicas)
			for _, cond := range d.Status.Conditions {
				fmt.Fprintf(w, "  %s=%s %s: %s\n", cond.Type, cond.Status, cond.Reason, cond.Message)
			}
		}
	}
	if rss, err := c.AppsV1().ReplicaSets(namespace).List(ctx, metav1.ListOptions{}); err != nil {
		fmt.Fprintf(w, "replicasets: %v\n", err)
	} else {
		for _, rs := range rss.Items {
			fmt.Fprintf(w, "replicaset %s: replicas %d ready %d\n", rs.Name, rs.Status.Replicas, rs.Status.ReadyReplicas)
			for _, cond := range rs.Status.Conditions {
				fmt.Fprintf(w, "  %s=%s %s: %s\n", cond.Type, cond.Status, cond.Reason, cond.Message)
			}
		}
	}
	if pods, err := c.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{}); err != nil {
		fmt.Fprintf(w, "pods: %v\n", err)
	} else {
		for _, p := range pods.Items {
			fmt.Fprintf(w, "pod %s: %s on %q, created %s\n", p.Name, p.Status.Phase, p.Spec.NodeName,
				p.CreationTimestamp.UTC().Format("15:04:05"))
			for _, cond := range p.Status.Conditions {
				fmt.Fprintf(w, "  %s=%s %s %s\n", cond.Type, cond.Status, cond.Reason, cond.Message)
			}
			for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
				fmt.Fprintf(w, "  container %s: ready %t, restarts %d, %s\n", cs.Name, cs.Ready, cs.RestartCount, containerState(cs.State))
			}
		}
	}
	evs, err := c.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		fmt.Fprintf(w, "events: %v\n", err)
		return
	}
	sort.SliceStable(evs.Items, func(i, j int) bool { return eventTime(&evs.Items[i]).Before(eventTime(&evs.Items[j])) })
	for _, e := range evs.Items {
		fmt.Fprintf(w, "event %s %s %s/%s %s (x%d): %s\n", eventTime(&e).UTC().Format("15:04:05"), e.Type,
			e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, max(e.Count, 1), strings.TrimSpace(e.Message))
	}
}

func containerState(s corev1.ContainerState) string {
	switch {
	case s.Waiting != nil:
		return fmt.Sprintf("waiting (%s: %s)", s.Waiting.Reason, s.Waiting.Message)
	case s.Terminated != nil:
		return fmt.Sprintf("terminated (%s, exit %d: %s)", s.Terminated.Reason, s.Terminated.ExitCode, s.Terminated.Message)
	case s.Running != nil:
		return "running since " + s.Running.StartedAt.UTC().Format("15:04:05")
	}
	return "no state yet"
}

// eventTime: events.k8s.io writers set only EventTime, core ones the
// timestamps.
func eventTime(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}
