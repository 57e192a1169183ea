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

package adapter

import (
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// ReasonEventRejected is the reason of the Warning Event on the source for
// step events the sink refused for good.
const ReasonEventRejected = "EventRejected"

// DefaultRejectionInterval is Options.RejectionInterval's default.
const DefaultRejectionInterval = 30 * time.Second

// rejectedIDsShown is how many of the last rejected events' ids an
// aggregated warning names.
const rejectedIDsShown = 5

// sourceEvents records Kubernetes Events on the TektonStepSource, where
// `kubectl describe` and `kn source tektonstep describe` show them.
//
// Rejections are aggregated here rather than by client-go: its spam filter
// lets 25 Events of an object through and then one per five minutes, so a
// burst of rejections would be shown as its first 25. The first rejection
// after a quiet interval is shown at once, as it is; the rejections that
// follow within the interval are counted and shown together at its end,
// with the count and the last ids, one Warning per interval. client-go's
// own filter and message aggregation are set so that they never drop or
// merge those.
type sourceEvents struct {
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
	source      *corev1.ObjectReference
	interval    time.Duration

	mu sync.Mutex
	// shown is when the last rejection Warning was recorded.
	shown time.Time
	// pending counts the rejections not shown yet; ids are the last of
	// them and latest the last one's message; flush is the timer that
	// shows them at the end of the interval.
	pending int
	ids     []string
	latest  string
	flush   *time.Timer
}

func newSourceEvents(kube kubernetes.Interface, cfg *adaptercontract.Config, interval time.Duration) *sourceEvents {
	broadcaster := record.NewBroadcaster(record.WithCorrelatorOptions(record.CorrelatorOptions{
		// At most one rejection Warning per interval, and the bursts of
		// any other: twice the rate leaves room for timer jitter.
		BurstSize: 25,
		QPS:       float32(2 / interval.Seconds()),
		// Every aggregated Warning differs from the last (its count and
		// ids): merging them would keep only the latest message. One
		// local key per reason keeps client-go from ever merging them,
		// and from remembering each message.
		KeyFunc: func(event *corev1.Event) (string, string) {
			aggregate, _ := record.EventAggregatorByReasonFunc(event)
			return aggregate, ""
		},
	}))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kube.CoreV1().Events(cfg.SourceNamespace)})
	return &sourceEvents{
		broadcaster: broadcaster,
		recorder:    broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: adaptercontract.Component}),
		source: &corev1.ObjectReference{
			APIVersion: v1alpha1.SchemeGroupVersion.String(),
			Kind:       "TektonStepSource",
			Namespace:  cfg.SourceNamespace,
			Name:       cfg.SourceName,
			UID:        types.UID(cfg.SourceUID),
		},
		interval: interval,
	}
}

// rejected shows that the event with the id was rejected, as message says:
// at once after a quiet interval, else in the interval's aggregated
// Warning.
func (e *sourceEvents) rejected(id, message string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	if e.pending == 0 && now.Sub(e.shown) >= e.interval {
		e.shown = now
		e.recorder.Event(e.source, corev1.EventTypeWarning, ReasonEventRejected, message)
		return
	}
	e.pending++
	e.ids = append(e.ids, id)
	if len(e.ids) > rejectedIDsShown {
		e.ids = e.ids[len(e.ids)-rejectedIDsShown:]
	}
	e.latest = message
	if e.flush == nil {
		e.flush = time.AfterFunc(e.shown.Add(e.interval).Sub(now), e.showPending)
	}
}

// showPending records the aggregated Warning of the rejections not shown yet.
func (e *sourceEvents) showPending() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.flush = nil
	if e.pending == 0 {
		return
	}
	noun := "events"
	if e.pending == 1 {
		noun = "event"
	}
	e.recorder.Event(e.source, corev1.EventTypeWarning, ReasonEventRejected,
		fmt.Sprintf("%d more %s rejected since %s (the last: %s); the latest: %s",
			e.pending, noun, e.shown.UTC().Format(time.RFC3339), strings.Join(e.ids, ", "), e.latest))
	e.shown = time.Now()
	e.pending, e.ids, e.latest = 0, nil, ""
}

// shutdown shows the rejections not shown yet and stops recording; Events
// not yet written are dropped.
func (e *sourceEvents) shutdown() {
	e.mu.Lock()
	if e.flush != nil {
		e.flush.Stop()
	}
	e.mu.Unlock()
	e.showPending()
	e.broadcaster.Shutdown()
}
