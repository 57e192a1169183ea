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

package leanwatch

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// TestEventDecoder reads a watch stream as the apiserver writes it (one
// event a line) and the odd ones it may write.
func TestEventDecoder(t *testing.T) {
	type event struct {
		typ    watch.EventType
		name   string // of the TaskRun
		rv     string
		status int32 // of an ERROR event's Status
		ended  bool  // the bookmark ending the initial events
	}
	tests := []struct {
		name    string
		stream  string
		want    []event
		wantErr bool // after the events wanted
		// wantCut: the stream ends within an event.
		wantCut bool
	}{{
		name: "the apiserver's events",
		stream: `{"type":"ADDED","object":{"kind":"TaskRun","metadata":{"name":"a","resourceVersion":"1","managedFields":[{"manager":"x"}]}}}` + "\n" +
			`{"type":"MODIFIED","object":{"metadata":{"name":"a","resourceVersion":"2"},"status":{"podName":"p"}}}` + "\n" +
			`{"type":"BOOKMARK","object":{"kind":"TaskRun","metadata":{"resourceVersion":"3","annotations":{"k8s.io/initial-events-end":"true"}}}}` + "\n" +
			`{"type":"DELETED","object":{"metadata":{"name":"a","resourceVersion":"4"}}}` + "\n",
		want: []event{{typ: watch.Added, name: "a", rv: "1"}, {typ: watch.Modified, name: "a", rv: "2"},
			{typ: watch.Bookmark, rv: "3", ended: true}, {typ: watch.Deleted, name: "a", rv: "4"}},
	}, {
		name:   "an expired resource version",
		stream: `{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 1 (5)","reason":"Expired","code":410}}`,
		want:   []event{{typ: watch.Error, status: 410}},
	}, {
		name:   "the object before its type, extra members, no newlines",
		stream: `{"object":{"metadata":{"name":"b","resourceVersion":"7"}},"extra":[1,{"x":2}],"type":"MODIFIED"}{"type":"ADDED","object":{"metadata":{"name":"c"}}}`,
		want:   []event{{typ: watch.Modified, name: "b", rv: "7"}, {typ: watch.Added, name: "c"}},
	}, {
		name:    "an unknown type",
		stream:  `{"type":"RENAMED","object":{"metadata":{"name":"a"}}}`,
		wantErr: true,
	}, {
		name:    "no object",
		stream:  `{"type":"ADDED"}`,
		wantErr: true,
	}, {
		name:    "cut in the middle",
		stream:  `{"type":"ADDED","object":{"metadata":{"name":"a"}}}{"type":"MODIFIED","object":{"metad`,
		want:    []event{{typ: watch.Added, name: "a"}},
		wantCut: true,
	}, {
		name:    "not an object",
		stream:  `["ADDED"]`,
		wantErr: true,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := io.NopCloser(strings.NewReader(tc.stream))
			d := NewDecoder(checkpointKey, neverFinal)
			dec := &eventDecoder{body: body, dec: jsontext.NewDecoder(body, d.opts), decoder: d}
			for i, w := range tc.want {
				typ, obj, err := dec.Decode()
				if err != nil {
					t.Fatalf("event %d: %v", i, err)
				}
				got := event{typ: typ}
				switch o := obj.(type) {
				case *pipelinev1.TaskRun:
					got.name, got.rv = o.Name, o.ResourceVersion
					got.ended = o.Annotations[metav1.InitialEventsAnnotationKey] == "true"
					if o.ManagedFields != nil {
						t.Errorf("event %d kept managedFields", i)
					}
				case *metav1.Status:
					got.status = o.Code
				default:
					t.Fatalf("event %d: object %T", i, obj)
				}
				if got != w {
					t.Errorf("event %d = %+v, want %+v", i, got, w)
				}
			}
			_, _, err := dec.Decode()
			switch {
			case tc.wantCut:
				if err != io.ErrUnexpectedEOF {
					t.Errorf("within an event: %v, want io.ErrUnexpectedEOF itself", err)
				}
			case tc.wantErr:
				if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("after the events: %v, want a decoding error", err)
				}
			case err != io.EOF:
				t.Errorf("at the end of the stream: %v, want io.EOF itself", err)
			}
		})
	}
}
