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

package checkpoint

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// The journal also records the replays (spec.replays): each replica's part
// of a replay is an annotation of the journal ConfigMap,
// replay.tektonstepsource.sources.knative.dev/<replay>.<part>, so that a
// replay is done once per name, across restarts and replicas, and the
// replicas write their parts without overwriting each other's.

// ReplayAnnotationPrefix starts the annotation key of a replay's part.
const ReplayAnnotationPrefix = "replay.tektonstepsource.sources.knative.dev/"

// ReplayPartKey names a part of a replay: the replay's name and the part
// (the bucket, "<i>-of-<n>").
type ReplayPartKey struct {
	Replay, Part string
}

func (k ReplayPartKey) annotation() string { return ReplayAnnotationPrefix + k.Replay + "." + k.Part }

// ReplayPart is the record of one part of a replay.
type ReplayPart struct {
	// State is Running or Succeeded (ReplayPending is never recorded).
	State v1alpha1.ReplayState `json:"state"`
	// TaskRuns and Events are what the part went through and re-sent.
	TaskRuns int64 `json:"taskRuns,omitempty"`
	Events   int64 `json:"events,omitempty"`
	// Finished is when a succeeded part finished.
	Finished *metav1.Time `json:"finished,omitempty"`
}

// ReplayParts reads the replay records of the journal; no ConfigMap yet
// means none. A record that cannot be read is left out: its part is done
// again.
func (j *Journal) ReplayParts(ctx context.Context) (map[ReplayPartKey]ReplayPart, error) {
	cm, err := j.get(ctx)
	if err != nil || cm == nil {
		return map[ReplayPartKey]ReplayPart{}, err
	}
	out := map[ReplayPartKey]ReplayPart{}
	for k, v := range cm.Annotations {
		name, ok := strings.CutPrefix(k, ReplayAnnotationPrefix)
		if !ok {
			continue
		}
		replay, part, ok := strings.Cut(name, ".")
		var rec ReplayPart
		if !ok || json.Unmarshal([]byte(v), &rec) != nil {
			continue
		}
		out[ReplayPartKey{Replay: replay, Part: part}] = rec
	}
	return out, nil
}

// RecordReplayParts sets the records in set and removes those in remove, in
// one merge patch of the journal's annotations.
func (j *Journal) RecordReplayParts(ctx context.Context, set map[ReplayPartKey]ReplayPart, remove []ReplayPartKey) error {
	annotations := make(map[string]interface{}, len(set)+len(remove))
	for _, k := range remove {
		annotations[k.annotation()] = nil
	}
	for k, rec := range set {
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		annotations[k.annotation()] = string(b)
	}
	patch, err := json.Marshal(map[string]interface{}{"metadata": map[string]interface{}{"annotations": annotations}})
	if err != nil {
		return err
	}
	if _, err := j.Client.CoreV1().ConfigMaps(j.Namespace).Patch(ctx, j.Name(), types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("recording replays in the progress journal %s/%s: %w", j.Namespace, j.Name(), err)
	}
	return nil
}
