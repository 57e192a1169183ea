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

package progress

import (
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/lru"
)

// ignoredRecord is a kind of progress record the adapter ignored.
type ignoredRecord int

const (
	// ignoredAnnotation: the TaskRun's checkpoint annotation (unreadable,
	// recorded for another TaskRun, or claiming more than its status).
	ignoredAnnotation ignoredRecord = iota
	// ignoredJournalEntry: the TaskRun's entry in the source's journal.
	ignoredJournalEntry
)

// ignoredRecords remembers the TaskRuns whose ignored records were logged,
// so each is logged once and not at every delivery of the TaskRun: a copied
// annotation stays on a running TaskRun until its attempt finishes and the
// adapter writes its own. Bounded: past ignoredRecordsRemembered TaskRuns
// the oldest may be logged again, which is noise, never loss.
type ignoredRecords struct{ logged *lru.Cache }

const ignoredRecordsRemembered = 4096

func newIgnoredRecords() ignoredRecords {
	return ignoredRecords{logged: lru.New(ignoredRecordsRemembered)}
}

type ignoredKey struct {
	uid  types.UID
	what ignoredRecord
}

// first reports whether this is the first time the TaskRun's record of the
// kind is ignored (and remembers it). The zero value remembers nothing.
func (r ignoredRecords) first(uid types.UID, what ignoredRecord) bool {
	if r.logged == nil {
		return true
	}
	key := ignoredKey{uid: uid, what: what}
	if _, seen := r.logged.Get(key); seen {
		return false
	}
	r.logged.Add(key, struct{}{})
	return true
}
