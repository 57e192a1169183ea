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
	"strings"
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

// Tail returns at most maxBytes from the end of the container's log, as
// valid UTF-8 (see tail). An error is returned inside the Log: the event
// goes out without the log, saying why.
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

// tail returns at most the last maxBytes bytes of r as valid UTF-8 (what
// the event carries, byte for byte), and whether anything was cut. The log
// streams through a ring of maxBytes, so memory stays bounded whatever its
// size. Invalid UTF-8 is replaced by U+FFFD, as the event's JSON encoding
// would do anyway; a replacement can be longer than what it replaces, so
// the text is cut again after it. Cuts fall on character boundaries.
func tail(r io.Reader, maxBytes int64) (string, bool, error) {
	if maxBytes <= 0 {
		return "", false, nil
	}
	ring := make([]byte, maxBytes)
	var total int64
	chunk := make([]byte, 32*1024)
	for {
		n, err := r.Read(chunk)
		p := chunk[:n]
		if int64(len(p)) > maxBytes {
			// Only its last maxBytes can be kept.
			total += int64(len(p)) - maxBytes
			p = p[int64(len(p))-maxBytes:]
		}
		for len(p) > 0 {
			c := copy(ring[total%maxBytes:], p)
			p = p[c:]
			total += int64(c)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", false, err
		}
	}
	buf := ring[:min(total, maxBytes)]
	truncated := total > maxBytes
	if truncated {
		start := total % maxBytes
		buf = append(append(make([]byte, 0, maxBytes), ring[start:]...), ring[:start]...)
	}
	text := string(buf)
	if truncated {
		text = fromRuneStart(text)
	}
	text = strings.ToValidUTF8(text, string(utf8.RuneError))
	if int64(len(text)) > maxBytes {
		text, truncated = fromRuneStart(text[int64(len(text))-maxBytes:]), true
	}
	return text, truncated, nil
}

// fromRuneStart drops the continuation bytes of a character cut in half at
// the start of s.
func fromRuneStart(s string) string {
	for len(s) > 0 && !utf8.RuneStart(s[0]) {
		s = s[1:]
	}
	return s
}
