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

// Package procstat reads what Linux says about a process's CPU time and
// memory (/proc/<pid>/stat and status), for the benchmarks and the fault
// tests that report them.
package procstat

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// readStat reads /proc/<pid>/stat: the command name and the fields after
// it (state, parent pid, ...; proc(5) numbers them from 3).
func readStat(pid int) (name string, fields []string, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", nil, err
	}
	// The name is in parentheses and may itself hold spaces and ')'.
	s := string(data)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open || end+2 > len(s) {
		return "", nil, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	return s[open+1 : end], strings.Fields(s[end+2:]), nil
}

// CPUTicks is the process's user+system CPU time in clock ticks (1/100 s).
func CPUTicks(pid int) (int64, error) {
	_, fields, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the name", pid, len(fields))
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return utime + stime, nil
}

// Memory is a process's resident memory, in bytes.
type Memory struct {
	// Peak is the highest resident set so far (VmHWM); Now the current
	// one (VmRSS).
	Peak, Now int64
	// Anon is the anonymous part of Now (the Go heap and stacks), File the
	// mapped files (the binary's code and data: shared with every process
	// running it, and reclaimable).
	Anon, File int64
}

// ReadMemory reads the process's Memory.
func ReadMemory(pid int) (Memory, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, err
	}
	var m Memory
	fields := map[string]*int64{"VmHWM:": &m.Peak, "VmRSS:": &m.Now, "RssAnon:": &m.Anon, "RssFile:": &m.File}
	found := 0
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || fields[f[0]] == nil {
			continue
		}
		kb, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("/proc/%d/status: %q: %w", pid, line, err)
		}
		*fields[f[0]] = kb * 1024
		found++
	}
	if found != len(fields) {
		return Memory{}, fmt.Errorf("/proc/%d/status: %d of VmHWM, VmRSS, RssAnon, RssFile", pid, found)
	}
	return m, nil
}

// MiB renders bytes in MiB.
func MiB(bytes int64) string { return fmt.Sprintf("%.1f MiB", float64(bytes)/(1<<20)) }

// String renders the current split, for logs.
func (m Memory) String() string {
	return fmt.Sprintf("RSS %s (RssAnon %s, RssFile %s), peak %s", MiB(m.Now), MiB(m.Anon), MiB(m.File), MiB(m.Peak))
}

// Children are the processes whose parent is pid, by their command name
// (at most 15 characters, as the kernel keeps it).
func Children(pid int) (map[int]string, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	out := map[int]string{}
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		name, fields, err := readStat(child)
		if err != nil {
			continue // gone since the listing
		}
		// After the name: state, then the parent's pid.
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			out[child] = name
		}
	}
	return out, nil
}
