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

// Package sink reads the CloudEvents that the receiver image
// (test/images/receiver) printed to its log, one JSON event per line.
package sink

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Parse decodes the event lines of a receiver log; other lines are skipped.
func Parse(r io.Reader, emit func(cloudevents.Event)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var e cloudevents.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			return fmt.Errorf("decoding event %q: %w", line, err)
		}
		emit(e)
	}
	return sc.Err()
}

// ReceiverPod returns the running pod matching selector in namespace.
func ReceiverPod(ctx context.Context, c kubernetes.Interface, namespace, selector string) (*corev1.Pod, error) {
	pods, err := c.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	for i := range pods.Items {
		if p := &pods.Items[i]; p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			return p, nil
		}
	}
	return nil, fmt.Errorf("no running pod %s in %s", selector, namespace)
}

// Read returns every event in the pod's log so far, in arrival order.
func Read(ctx context.Context, c kubernetes.Interface, namespace, pod string) ([]cloudevents.Event, error) {
	rc, err := c.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{}).Stream(ctx)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var events []cloudevents.Event
	err = Parse(rc, func(e cloudevents.Event) { events = append(events, e) })
	return events, err
}

// Follow streams the pod's log from now on (sinceNow) or from its start,
// calling emit for each event until ctx ends or the stream does.
func Follow(ctx context.Context, c kubernetes.Interface, namespace, pod string, sinceNow bool, emit func(cloudevents.Event)) error {
	opts := &corev1.PodLogOptions{Follow: true}
	if sinceNow {
		zero := int64(0)
		opts.TailLines = &zero
	}
	rc, err := c.CoreV1().Pods(namespace).GetLogs(pod, opts).Stream(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	return Parse(rc, emit)
}
