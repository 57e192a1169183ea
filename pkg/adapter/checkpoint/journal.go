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
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
)

// The journal holds the progress of a source's running TaskRuns; the
// annotation holds it once an attempt is finished. Writing a running
// TaskRun's progress to the TaskRun itself would cost a TaskRun write per
// TaskRun and interval, each echoed to every TaskRun watcher (Tekton's
// controller reconciles it); the journal is one ConfigMap in the source's
// namespace that nothing watches, written once per interval for all of
// them. Its keys are TaskRun UIDs, so a recreated TaskRun never inherits an
// entry, and replicas of a source can each write the keys of their buckets
// with a merge patch without overwriting each other.

// sinceKey is the journal's key (not a TaskRun UID) that holds since when
// the source's adapters name the TaskRun in each checkpoint annotation
// (RFC 3339).
const sinceKey = "records-name-taskruns-since"

// RecordsNameTaskRunsSince is since when the source's adapters name the
// TaskRun in each checkpoint annotation: what the journal holds, else now,
// which it then records (the first start of such an adapter). Without a
// journal yet, now, unrecorded. A time after now (written by hand) counts
// as now.
func (j *Journal) RecordsNameTaskRunsSince(ctx context.Context, now time.Time) (time.Time, error) {
	now = now.UTC().Truncate(time.Second)
	cm, err := j.get(ctx)
	if err != nil || cm == nil {
		return now, err
	}
	if v, ok := cm.Data[sinceKey]; ok {
		if since, err := time.Parse(time.RFC3339, v); err == nil {
			return minTime(since, now), nil
		}
	}
	patch, err := json.Marshal(map[string]interface{}{"data": map[string]string{sinceKey: now.Format(time.RFC3339)}})
	if err != nil {
		return now, err
	}
	if _, err := j.Client.CoreV1().ConfigMaps(j.Namespace).Patch(ctx, j.Name(), types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return now, fmt.Errorf("recording in the progress journal %s/%s since when records name their TaskRun: %w", j.Namespace, j.Name(), err)
	}
	return now, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Entry is the journaled progress of one TaskRun.
type Entry struct {
	TaskRun  types.NamespacedName
	Progress *Progress
	// Size is what the entry takes in the ConfigMap (EntrySize); Load sets it.
	Size int
}

// EntrySize is what an entry takes in the ConfigMap: its key and value.
func EntrySize(uid types.UID, value string) int { return len(uid) + len(value) }

// entryJSON is an Entry as stored: {"t":"ns/name","a":1,"s":{"build":2}}.
type entryJSON struct {
	TaskRun string `json:"t"`
	*Progress
}

// EncodeEntry renders an entry as the journal stores it.
func EncodeEntry(e Entry) (string, error) {
	b, err := json.Marshal(entryJSON{TaskRun: e.TaskRun.String(), Progress: e.Progress})
	return string(b), err
}

func decodeEntry(value string) (Entry, error) {
	v := entryJSON{Progress: &Progress{}}
	if err := json.Unmarshal([]byte(value), &v); err != nil {
		return Entry{}, err
	}
	ns, name, ok := strings.Cut(v.TaskRun, "/")
	if !ok || ns == "" || name == "" {
		return Entry{}, fmt.Errorf("TaskRun %q is not namespace/name", v.TaskRun)
	}
	return Entry{TaskRun: types.NamespacedName{Namespace: ns, Name: name}, Progress: v.Progress}, nil
}

// Journal reads and writes a source's journal ConfigMap. The controller
// creates it with the source, owned by it, and grants the adapter get and
// patch of it by name only: the adapter never creates ConfigMaps
// (Kubernetes cannot limit create to a name).
type Journal struct {
	Client kubernetes.Interface
	// Namespace is the source's namespace.
	Namespace string
	SourceUID string
}

// SourceJournal is the journal of the TektonStepSource with the given UID,
// in its namespace.
func SourceJournal(client kubernetes.Interface, namespace, uid string) *Journal {
	return &Journal{Client: client, Namespace: namespace, SourceUID: uid}
}

// Name is the journal ConfigMap's name.
func (j *Journal) Name() string { return adaptercontract.JournalName(j.SourceUID) }

// Load returns the journal's entries; no ConfigMap yet means no entries.
// An entry that cannot be read is skipped and reported in the error list,
// so one bad value costs at most the duplicates of one TaskRun.
func (j *Journal) Load(ctx context.Context) (map[types.UID]Entry, []error, error) {
	cm, err := j.get(ctx)
	if err != nil {
		return nil, nil, err
	}
	if cm == nil {
		return map[types.UID]Entry{}, nil, nil
	}
	entries := make(map[types.UID]Entry, len(cm.Data))
	var bad []error
	for uid, value := range cm.Data {
		if uid == sinceKey {
			continue
		}
		e, err := decodeEntry(value)
		if err != nil {
			bad = append(bad, fmt.Errorf("journal %s/%s entry %s: %w", j.Namespace, j.Name(), uid, err))
			continue
		}
		e.Size = EntrySize(types.UID(uid), value)
		entries[types.UID(uid)] = e
	}
	return entries, bad, nil
}

// get reads the journal ConfigMap; nil if there is none yet.
func (j *Journal) get(ctx context.Context) (*corev1.ConfigMap, error) {
	cm, err := j.Client.CoreV1().ConfigMaps(j.Namespace).Get(ctx, j.Name(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the progress journal %s/%s: %w", j.Namespace, j.Name(), err)
	}
	return cm, nil
}

// Write sets the entries given by their encoded values (EncodeEntry) and
// removes the UIDs in remove, in one merge patch that leaves every other
// key alone. It returns the size of all the journal's entries (EntrySize)
// after the write, other replicas' included.
func (j *Journal) Write(ctx context.Context, set map[types.UID]string, remove []types.UID) (int, error) {
	data := make(map[string]interface{}, len(set)+len(remove))
	for _, uid := range remove {
		data[string(uid)] = nil
	}
	for uid, value := range set {
		data[string(uid)] = value
	}
	patch, err := json.Marshal(map[string]interface{}{"data": data})
	if err != nil {
		return 0, err
	}
	cm, err := j.Client.CoreV1().ConfigMaps(j.Namespace).Patch(ctx, j.Name(), types.MergePatchType, patch, metav1.PatchOptions{})
	switch {
	case apierrors.IsNotFound(err) && len(set) == 0:
		// Nothing to keep and nothing to remove from.
		return 0, nil
	case apierrors.IsNotFound(err):
		return 0, fmt.Errorf("the progress journal %s/%s does not exist: the controller creates it with the source, and again within %s if it was deleted: %w",
			j.Namespace, j.Name(), adaptercontract.ResyncInterval, err)
	}
	return size(cm), err
}

// size is what the journal's entries take (0 without a ConfigMap).
func size(cm *corev1.ConfigMap) int {
	if cm == nil {
		return 0
	}
	n := 0
	for uid, value := range cm.Data {
		n += EntrySize(types.UID(uid), value)
	}
	return n
}
