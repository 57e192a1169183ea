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

package steplog

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func TestTail(t *testing.T) {
	tests := []struct {
		name          string
		log           string
		max           int64
		want          string
		wantTruncated bool
	}{
		{name: "fits", log: "hello\nworld\n", max: 64, want: "hello\nworld\n"},
		{name: "exactly the cap", log: "abcd", max: 4, want: "abcd"},
		{name: "tail kept", log: "line1\nline2\nline3\n", max: 6, want: "line3\n", wantTruncated: true},
		{name: "empty", log: "", max: 10, want: ""},
		{name: "cut inside a character", log: "ab€cd", max: 4, want: "cd", wantTruncated: true},
		{name: "giant log", log: strings.Repeat("x", 1<<20) + "END", max: 10, want: "xxxxxxxEND", wantTruncated: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, truncated, err := tail(strings.NewReader(tc.log), tc.max)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || truncated != tc.wantTruncated {
				t.Errorf("tail = %q, %v; want %q, %v", got, truncated, tc.want, tc.wantTruncated)
			}
			if int64(len(got)) > tc.max {
				t.Errorf("tail is %d bytes, over the cap %d", len(got), tc.max)
			}
		})
	}
}

// TestTailOfNonUTF8Log: invalid UTF-8 is replaced by U+FFFD, and the cap
// holds for the text as sent, after the replacements.
func TestTailOfNonUTF8Log(t *testing.T) {
	tests := []struct {
		name          string
		log           []byte
		max           int64
		want          string
		wantTruncated bool
	}{
		{name: "replaced, fits", log: []byte{0xff, 'o', 'k'}, max: 10, want: "\uFFFDok"},
		{name: "a run of invalid bytes is one replacement", log: []byte{'o', 'k', 0xff, 0xfe, 0xfd, 0xfc}, max: 6, want: "ok\uFFFD"},
		{name: "replacements grow the text past the cap: cut again", log: []byte{'a', 0xff, 'b', 0xfe, 'c'}, max: 5, want: "b\uFFFDc", wantTruncated: true},
		{name: "cut by the read, then by the replacement", log: []byte{0xff, 0xfe, 'o', 'k', 0xc3}, max: 3, want: "\uFFFD", wantTruncated: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, truncated, err := tail(strings.NewReader(string(tc.log)), tc.max)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || truncated != tc.wantTruncated {
				t.Errorf("tail = %q, %v; want %q, %v", got, truncated, tc.want, tc.wantTruncated)
			}
			if int64(len(got)) > tc.max || !utf8.ValidString(got) {
				t.Errorf("tail %q: %d bytes (cap %d), valid UTF-8 %v", got, len(got), tc.max, utf8.ValidString(got))
			}
			// What the event carries is exactly the text: JSON encoding
			// changes nothing more in it.
			var back string
			encoded, _ := json.Marshal(got)
			if err := json.Unmarshal(encoded, &back); err != nil || back != got {
				t.Errorf("JSON round trip of the tail = %q, %v", back, err)
			}
		})
	}
}

// TestTailAcrossReads: a log arriving in pieces of every size keeps exactly
// its last maxBytes.
func TestTailAcrossReads(t *testing.T) {
	log := strings.Repeat("0123456789", 5000) + "end"
	for _, max := range []int64{1, 7, 10, 4096, 32 * 1024, 50003, 60000} {
		got, truncated, err := tail(iotest.OneByteReader(strings.NewReader(log)), max)
		if err != nil {
			t.Fatal(err)
		}
		want := log
		if int64(len(log)) > max {
			want = log[int64(len(log))-max:]
		}
		if got != want || truncated != (int64(len(log)) > max) {
			t.Errorf("max %d: tail of %d bytes, truncated %v; want %d bytes", max, len(got), truncated, len(want))
		}
		big, _, _ := tail(strings.NewReader(log), max)
		if big != want {
			t.Errorf("max %d, one read: tail of %d bytes, want %d", max, len(big), len(want))
		}
	}
}

// TestReaderThroughClientGo reads logs through the real client-go pods/log
// path against an HTTP server standing in for the apiserver (no kubelet
// serves logs in these tests).
func TestReaderThroughClientGo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/namespaces/ci/pods/build-pod/log":
			if r.URL.Query().Get("container") != "step-compile" {
				http.Error(w, "wrong container", http.StatusBadRequest)
				return
			}
			fmt.Fprint(w, strings.Repeat("noise\n", 1000)+"compiled ok\n")
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":"pods \"gone\" not found"}`)
		}
	}))
	defer srv.Close()
	r := &Reader{Client: kubernetes.NewForConfigOrDie(&rest.Config{Host: srv.URL})}

	got := r.Tail(context.Background(), "ci", "build-pod", "step-compile", 12)
	if got.Err != nil || got.Text != "compiled ok\n" || !got.Truncated {
		t.Errorf("Tail = %+v", got)
	}
	missing := r.Tail(context.Background(), "ci", "gone", "step-compile", 12)
	if missing.Err == nil || !strings.Contains(missing.Err.Error(), `pods "gone" not found`) {
		t.Errorf("Tail of a missing pod = %+v, want a not-found error", missing)
	}
}
