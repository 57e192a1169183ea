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
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// ListWatch lists and watches the TaskRuns of one namespace (all with
// metav1.NamespaceAll) that match the selectors, as a cache.ListerWatcher
// for an informer. It passes the reflector's options through, so paged
// lists, bookmarks and streaming lists (sendInitialEvents) work as with a
// generated client.
type ListWatch struct {
	client                       rest.Interface
	namespace                    string
	labelSelector, fieldSelector string
	decoder                      *Decoder
}

var _ cache.ListerWatcherWithContext = (*ListWatch)(nil)

// NewListWatch lists and watches TaskRuns through client, a REST client
// of tekton.dev/v1 (the Tekton clientset's TektonV1().RESTClient()).
func NewListWatch(client rest.Interface, namespace, labelSelector, fieldSelector string, d *Decoder) *ListWatch {
	return &ListWatch{client: client, namespace: namespace, labelSelector: labelSelector, fieldSelector: fieldSelector, decoder: d}
}

func (lw *ListWatch) request(opts *metav1.ListOptions) *rest.Request {
	opts.LabelSelector, opts.FieldSelector = lw.labelSelector, lw.fieldSelector
	r := lw.client.Get().
		NamespaceIfScoped(lw.namespace, lw.namespace != metav1.NamespaceAll).
		Resource("taskruns").
		VersionedParams(opts, metav1.ParameterCodec).
		// Custom resources are served as JSON only; this decoder reads no other.
		SetHeader("Accept", runtime.ContentTypeJSON)
	if opts.TimeoutSeconds != nil {
		r = r.Timeout(time.Duration(*opts.TimeoutSeconds) * time.Second)
	}
	return r
}

// List is ListWithContext without a context, for cache.Lister.
func (lw *ListWatch) List(opts metav1.ListOptions) (runtime.Object, error) {
	return lw.ListWithContext(context.Background(), opts)
}

// Watch is WatchWithContext without a context, for cache.Watcher.
func (lw *ListWatch) Watch(opts metav1.ListOptions) (watch.Interface, error) {
	return lw.WatchWithContext(context.Background(), opts)
}

// taskRunList is the projection of a TaskRunList.
type taskRunList struct {
	Metadata metav1.ListMeta `json:"metadata"`
	Items    []taskRun       `json:"items"`
}

// ListWithContext lists one page of TaskRuns.
func (lw *ListWatch) ListWithContext(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
	body, err := lw.request(&opts).DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	var w taskRunList
	if err := json.Unmarshal(body, &w, lw.decoder.opts); err != nil {
		return nil, fmt.Errorf("decoding TaskRuns: %w", err)
	}
	list := &pipelinev1.TaskRunList{ListMeta: w.Metadata, Items: make([]pipelinev1.TaskRun, 0, len(w.Items))}
	for i := range w.Items {
		tr, err := lw.decoder.taskRun(&w.Items[i])
		if err != nil {
			return nil, fmt.Errorf("decoding TaskRun %s/%s: %w", w.Items[i].Metadata.Namespace, w.Items[i].Metadata.Name, err)
		}
		list.Items = append(list.Items, *tr)
	}
	return list, nil
}

// WatchWithContext opens a watch of TaskRuns.
func (lw *ListWatch) WatchWithContext(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	opts.Watch = true
	body, err := lw.request(&opts).Stream(ctx)
	if err != nil {
		return nil, err
	}
	return watch.NewStreamWatcher(
		&eventDecoder{body: body, dec: jsontext.NewDecoder(body, lw.decoder.opts), decoder: lw.decoder},
		// As client-go reports an event it cannot decode.
		apierrors.NewClientErrorReporter(http.StatusInternalServerError, http.MethodGet, "ClientWatchDecoding"),
	), nil
}

// eventDecoder reads the watch events of one stream, each
// {"type": ..., "object": ...}, in a single pass.
type eventDecoder struct {
	body    io.ReadCloser
	dec     *jsontext.Decoder
	decoder *Decoder
}

// Decode reads the next event. At the end of the stream it returns io.EOF
// and within an event io.ErrUnexpectedEOF, which watch.StreamWatcher tells
// apart (by equality) from errors to report; other read errors keep the
// underlying error's text, by which it recognises a closed connection.
func (e *eventDecoder) Decode() (watch.EventType, runtime.Object, error) {
	typ, obj, err := e.decode()
	if err != nil && err != io.EOF && errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.ErrUnexpectedEOF
	}
	return typ, obj, err
}

func (e *eventDecoder) decode() (watch.EventType, runtime.Object, error) {
	if tok, err := e.dec.ReadToken(); err != nil {
		return "", nil, err
	} else if tok.Kind() != '{' {
		return "", nil, fmt.Errorf("watch event: expected an object, got %v", tok.Kind())
	}
	var (
		typ watch.EventType
		obj runtime.Object
		// raw is an object that came before its type (the apiserver
		// writes the type first).
		raw jsontext.Value
	)
	for e.dec.PeekKind() != '}' {
		name, err := e.dec.ReadToken()
		if err != nil {
			return "", nil, err
		}
		switch name.String() {
		case "type":
			v, err := e.dec.ReadToken()
			if err != nil {
				return "", nil, err
			}
			typ = watch.EventType(v.String())
		case "object":
			if typ == "" {
				if raw, err = e.dec.ReadValue(); err != nil {
					return "", nil, err
				}
				raw = raw.Clone()
				continue
			}
			if obj, err = e.object(typ, e.dec); err != nil {
				return "", nil, err
			}
		default:
			if err := e.dec.SkipValue(); err != nil {
				return "", nil, err
			}
		}
	}
	if _, err := e.dec.ReadToken(); err != nil {
		return "", nil, err
	}
	if obj == nil && raw != nil {
		var err error
		if obj, err = e.object(typ, jsontext.NewDecoder(bytes.NewReader(raw), e.decoder.opts)); err != nil {
			return "", nil, err
		}
	}
	switch typ {
	case watch.Added, watch.Modified, watch.Deleted, watch.Bookmark, watch.Error:
	default:
		return "", nil, fmt.Errorf("watch event: unknown type %q", typ)
	}
	if obj == nil {
		return "", nil, fmt.Errorf("watch event %s: no object", typ)
	}
	return typ, obj, nil
}

func (e *eventDecoder) object(typ watch.EventType, dec *jsontext.Decoder) (runtime.Object, error) {
	if typ == watch.Error {
		// A metav1.Status: the reflector tells "too old" and others
		// apart by it.
		st := &metav1.Status{}
		if err := json.UnmarshalDecode(dec, st, e.decoder.opts); err != nil {
			return nil, fmt.Errorf("watch error event: %w", err)
		}
		return st, nil
	}
	tr, err := e.decoder.DecodeFrom(dec)
	if err != nil {
		return nil, fmt.Errorf("watch %s event: %w", typ, err)
	}
	return tr, nil
}

// Close ends the stream.
func (e *eventDecoder) Close() {
	_ = e.body.Close()
}
