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

// Package steplog reads the tail of a step container's log through the
// apiserver (pods/log). Tekton never stores step logs itself.
package steplog

import (
	"context"
	"fmt"
	"io"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
)

// Log is the outcome of reading a step's log: its tail, or why it could not
// be read (the event carries either).
type Log struct {
	Text      string
	Truncated bool
	Err       error
}

// Reader reads step logs.
type Reader struct {
	Client kubernetes.Interface
}

// Tail returns at most maxBytes from the end of the container's log. The
// whole log streams through a buffer of twice maxBytes, so memory stays
// bounded whatever the log's size. An error is returned inside the Log: the
// event goes out without the log, saying why.
func (r *Reader) Tail(ctx context.Context, namespace, pod, container string, maxBytes int64) *Log {
	stream, err := r.Client.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{Container: container}).Stream(ctx)
	if err != nil {
		return &Log{Err: fmt.Errorf("reading log of container %s of pod %s/%s: %w", container, namespace, pod, err)}
	}
	defer stream.Close()
	text, truncated, err := tail(stream, maxBytes)
	if err != nil {
		return &Log{Err: fmt.Errorf("reading log of container %s of pod %s/%s: %w", container, namespace, pod, err)}
	}
	return &Log{Text: text, Truncated: truncated}
}

// tail keeps the last maxBytes of r, cut at a UTF-8 boundary so the tail does
// not start in the middle of a character.
func tail(r io.Reader, maxBytes int64) (string, bool, error) {
	buf := make([]byte, 0, 2*maxBytes+4096)
	chunk := make([]byte, 32*1024)
	truncated := false
	for {
		n, err := r.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if int64(len(buf)) > 2*maxBytes {
			buf = append(buf[:0], buf[int64(len(buf))-maxBytes:]...)
			truncated = true
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", false, err
		}
	}
	if int64(len(buf)) > maxBytes {
		buf = buf[int64(len(buf))-maxBytes:]
		truncated = true
	}
	if truncated {
		// Drop continuation bytes of a character cut in half.
		for len(buf) > 0 && !utf8.RuneStart(buf[0]) {
			buf = buf[1:]
		}
	}
	return string(buf), truncated, nil
}
