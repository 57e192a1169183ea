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
// a step event the sink refused for good.
const ReasonEventRejected = "EventRejected"

// sourceEvents records Kubernetes Events on the TektonStepSource, where
// `kubectl describe` and `kn source tektonstep describe` show them.
// client-go's recorder aggregates repeats, so a sink that refuses every
// event costs a few Event writes, not one per event.
type sourceEvents struct {
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
	source      *corev1.ObjectReference
}

func newSourceEvents(kube kubernetes.Interface, cfg *adaptercontract.Config) *sourceEvents {
	broadcaster := record.NewBroadcaster()
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
	}
}

// warn records a Warning Event on the source.
func (e *sourceEvents) warn(reason, messageFmt string, args ...interface{}) {
	e.recorder.Eventf(e.source, corev1.EventTypeWarning, reason, messageFmt, args...)
}

// shutdown stops recording; Events not yet written are dropped.
func (e *sourceEvents) shutdown() { e.broadcaster.Shutdown() }
