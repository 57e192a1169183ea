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

package adaptercontract

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"
)

// TaskRuns is the resource of Tekton's TaskRuns, for metadata-only
// clients and informers (the controller does not link Tekton's API).
var TaskRuns = schema.GroupVersionResource{Group: "tekton.dev", Version: "v1", Resource: "taskruns"}

// DeletionTimeResolution is how much later than its deletionTimestamp a
// TaskRun's deletion may have been asked for: metav1.Time is stored in
// whole seconds.
const DeletionTimeResolution = time.Second

// GuardLeft is how much longer a TaskRun whose deletion was asked for at
// deleting is held by a guard of the given deadline (≤ 0: no longer). It
// counts DeletionTimeResolution in, so that no TaskRun is released before
// it has been deleting for the whole deadline.
func GuardLeft(deleting metav1.Time, deadline time.Duration, now time.Time) time.Duration {
	return deleting.Add(deadline + DeletionTimeResolution).Sub(now)
}

// GuardFinalizerPrefix starts every deletion guard finalizer; the rest is
// the source's UID.
const GuardFinalizerPrefix = "guard.tektonstepsource.sources.knative.dev/"

// GuardFinalizer is the deletion guard's finalizer of the source with the
// given UID: the adapter puts it on TaskRuns and takes it off, the
// controller removes those the adapter cannot. One per source, so that
// sources watching the same TaskRun guard it independently.
func GuardFinalizer(sourceUID string) string { return GuardFinalizerPrefix + sourceUID }

// GuardedBy returns the UIDs of the sources whose guard finalizer the
// finalizers hold.
func GuardedBy(finalizers []string) []string {
	var uids []string
	for _, f := range finalizers {
		if uid, ok := strings.CutPrefix(f, GuardFinalizerPrefix); ok && uid != "" {
			uids = append(uids, uid)
		}
	}
	return uids
}

// SetGuardFinalizer adds (add) or removes the finalizer on the TaskRun
// whose metadata was read at resourceVersion, leaving every other
// finalizer as it was. The merge patch carries the resourceVersion, so a
// TaskRun changed since fails with a conflict instead of losing another
// party's finalizer (as Knative's generated reconcilers patch theirs).
func SetGuardFinalizer(ctx context.Context, client metadata.Interface, namespace, name, resourceVersion string,
	finalizers []string, finalizer string, add bool) error {
	has := slices.Contains(finalizers, finalizer)
	if has == add {
		return nil
	}
	next := make([]string, 0, len(finalizers)+1)
	for _, f := range finalizers {
		if f != finalizer {
			next = append(next, f)
		}
	}
	if add {
		next = append(next, finalizer)
	}
	patch, err := json.Marshal(map[string]interface{}{
		"metadata": map[string]interface{}{"finalizers": next, "resourceVersion": resourceVersion},
	})
	if err != nil {
		return err
	}
	_, err = client.Resource(TaskRuns).Namespace(namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		// Gone: nothing left to guard or release.
		return nil
	}
	return err
}
