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

// This file holds the tallies: per contender, how its output (the sink's
// events, or the floor's file) is counted and matched to the status writes
// that caused it, giving the latency samples.

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

type sample struct{ written, arrived time.Time }

func writesWanted(m *measurement) int {
	m.writes.mu.Lock()
	defer m.writes.mu.Unlock()
	return len(m.writes.byRV)
}

// oursTally maps each step event to the write that made it: started of step
// i comes from write i, succeeded of step i from write i+1. A repeated
// event counts as delivered but gives no second sample; the first event of
// each write to arrive is also sampled on its own.
func oursTally(m *measurement) error {
	evs, arrivals := m.sink.Events(), m.sink.Arrivals()
	m.writes.mu.Lock()
	defer m.writes.mu.Unlock()
	for i := m.read; i < len(evs); i++ {
		e := evs[i]
		m.delivered++
		step, err := strconv.Atoi(strings.TrimPrefix(e.Subject(), "s"))
		if err != nil {
			return fmt.Errorf("unexpected subject %q", e.Subject())
		}
		if strings.HasSuffix(e.Type(), ".succeeded.v1") {
			step++
		}
		key := fmt.Sprintf("%v/%d", e.Extensions()["tektontaskrun"], step)
		w, ok := m.writes.byStep[key]
		if !ok {
			continue
		}
		if !m.seen[key+e.Type()] {
			m.seen[key+e.Type()] = true
			m.samples = append(m.samples, sample{w, arrivals[i]})
		}
		if !m.seen[key] {
			// A write's second event is sent once the sink has the first:
			// each TaskRun's events go in order.
			m.seen[key] = true
			m.firstOfWrite = append(m.firstOfWrite, sample{w, arrivals[i]})
		}
	}
	m.read = len(evs)
	return nil
}

type object struct {
	Metadata struct {
		Name            string `json:"name"`
		Namespace       string `json:"namespace"`
		ResourceVersion string `json:"resourceVersion"`
	} `json:"metadata"`
}

func objectOf(data []byte) (object, error) {
	var obj object
	err := json.Unmarshal(data, &obj)
	return obj, err
}

// apiServerSourceTally maps each event (the TaskRun in Resource mode) to its
// resourceVersion's write; the probe's events are not the workload's.
func apiServerSourceTally(m *measurement) error {
	return tallyByResourceVersion(m, func(e cloudevents.Event) (string, bool, error) {
		obj, err := objectOf(e.Data())
		if err != nil {
			return "", false, err
		}
		return obj.Metadata.ResourceVersion, obj.Metadata.Name != "probe", nil
	})
}

// floorSendTally matches the floor+send's events (id: the resourceVersion)
// to the writes.
func floorSendTally(m *measurement) error {
	return tallyByResourceVersion(m, func(e cloudevents.Event) (string, bool, error) { return e.ID(), true, nil })
}

// tallyByResourceVersion counts the sink's new events that rv says belong
// to the workload, and samples the latency of the first event of each
// resourceVersion written.
func tallyByResourceVersion(m *measurement, rv func(cloudevents.Event) (version string, counts bool, err error)) error {
	evs, arrivals := m.sink.Events(), m.sink.Arrivals()
	m.writes.mu.Lock()
	defer m.writes.mu.Unlock()
	for i := m.read; i < len(evs); i++ {
		version, counts, err := rv(evs[i])
		if err != nil {
			return err
		}
		if !counts {
			continue
		}
		m.delivered++
		if w, ok := m.writes.byRV[version]; ok && !m.seen[version] {
			m.seen[version] = true
			m.samples = append(m.samples, sample{w, arrivals[i]})
		}
	}
	m.read = len(evs)
	return nil
}

// floorTally reads the floor's "rv unixnano" lines (flushed every 100 ms).
func floorTally(m *measurement) error {
	data, err := os.ReadFile(filepath.Join(filepath.Dir(m.proc.log), m.contender.name+".throughput"))
	if err != nil {
		return err
	}
	lines := strings.Split(string(data), "\n")
	lines = lines[:len(lines)-1] // complete lines only
	m.writes.mu.Lock()
	defer m.writes.mu.Unlock()
	for _, line := range lines[min(m.read, len(lines)):] {
		var rv string
		var at int64
		if _, err := fmt.Sscanf(line, "%s %d", &rv, &at); err != nil {
			return fmt.Errorf("floor output %q: %w", line, err)
		}
		m.delivered++
		if w, ok := m.writes.byRV[rv]; ok && !m.seen[rv] {
			m.seen[rv] = true
			m.samples = append(m.samples, sample{w, time.Unix(0, at)})
		}
	}
	m.read = max(m.read, len(lines))
	return nil
}
