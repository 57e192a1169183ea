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

// This file is the report: each contender's figures over its rounds and the
// printed table with the ratios against the targets.

package main

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"
)

// summary is a contender's figures over its rounds.
type summary struct {
	name string
	// events is what the contender produced per round (the CPU
	// denominator), cpuTicks and eventsPerSecond the median round's, and
	// samples every round's latency samples.
	events          int
	cpuTicks        int64
	eventsPerSecond float64
	samples         []sample
	firstOfWrite    []sample
	peakRSS         int64
	// idleRSS is the median round's resident set watching an empty
	// namespace: what the binary and its framework hold before caching.
	idleRSS int64
}

func summarize(name string, ms []*measurement) *summary {
	s := &summary{name: name, events: ms[0].delivered}
	var ticks, idle []int64
	var rates []float64
	for _, m := range ms {
		ticks = append(ticks, m.cpuTicks)
		idle = append(idle, m.idleRSS)
		rates = append(rates, eventsPerSecond(m))
		s.samples = append(s.samples, m.samples...)
		s.firstOfWrite = append(s.firstOfWrite, m.firstOfWrite...)
	}
	slices.Sort(ticks)
	slices.Sort(idle)
	sort.Float64s(rates)
	s.cpuTicks, s.eventsPerSecond, s.idleRSS = ticks[len(ticks)/2], rates[len(rates)/2], idle[len(idle)/2]
	return s
}

func mib(bytes int64) float64 { return float64(bytes) / (1 << 20) }

func percentile(samples []sample, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	lat := make([]time.Duration, len(samples))
	for i, s := range samples {
		lat[i] = s.arrived.Sub(s.written)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat[int(p*float64(len(lat)-1))]
}

// eventsPerSecond is the write-caused events over the time from the first
// write to the last such event's arrival.
func eventsPerSecond(m *measurement) float64 {
	first := m.writes.first()
	var last time.Time
	for _, s := range m.samples {
		if s.arrived.After(last) {
			last = s.arrived
		}
	}
	if !last.After(first) {
		return 0
	}
	return float64(len(m.samples)) / last.Sub(first).Seconds()
}

func printTable(results []*summary, opts options) {
	fmt.Printf("\nWorkload: %d TaskRuns x %d steps, %d at a time, target %.0f step transitions/s; peak RSS with %d TaskRuns cached.\n",
		opts.runs, opts.steps, opts.concurrent, opts.rate, opts.cached)
	fmt.Printf("%d round(s) per contender in rotated order: CPU s and events/s of the median round, p50/p99 over all rounds' samples.\n\n", opts.rounds)
	fmt.Printf("| %-16s | %8s | %7s | %19s | %14s | %9s | %9s | %9s |\n",
		"contender", "events", "CPU s", "CPU s / 1000 events", "peak RSS (MiB)", "p50", "p99", "events/s")
	fmt.Println("|------------------|----------|---------|---------------------|----------------|-----------|-----------|-----------|")
	byName := map[string]*summary{}
	for _, m := range results {
		byName[m.name] = m
		fmt.Printf("| %-16s | %8d | %7.2f | %19.3f | %14.1f | %9s | %9s | %9.0f |\n", m.name, m.events,
			float64(m.cpuTicks)/100, cpuPer1000(m), mib(m.peakRSS),
			percentile(m.samples, 0.5).Round(100*time.Microsecond), percentile(m.samples, 0.99).Round(100*time.Microsecond),
			m.eventsPerSecond)
	}
	ours, asrc, floor := byName["ours"], byName["apiserversource"], byName["floor"]
	if ours == nil || floor == nil {
		return
	}
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	fmt.Println()
	oursP99, floorP99 := percentile(ours.samples, 0.99), percentile(floor.samples, 0.99)
	fmt.Printf("p99 latency: ours %s vs floor %s + 10ms = %s (target: ours <= that: %s)\n",
		oursP99.Round(100*time.Microsecond), floorP99.Round(100*time.Microsecond),
		(floorP99 + 10*time.Millisecond).Round(100*time.Microsecond), verdict(oursP99 <= floorP99+10*time.Millisecond))
	firstP99 := percentile(ours.firstOfWrite, 0.99)
	fmt.Printf("p99 latency of the first event of each write (sampled as the others are): ours %s, p50 %s (ours <= floor + 10ms: %s)\n",
		firstP99.Round(100*time.Microsecond), percentile(ours.firstOfWrite, 0.5).Round(100*time.Microsecond),
		verdict(firstP99 <= floorP99+10*time.Millisecond))
	for _, m := range results {
		fmt.Printf("%s: %s\n", m.name, tailSpread(m.samples))
	}
	if asrc == nil {
		return
	}
	ratio := func(a, b float64) float64 {
		if b == 0 {
			return math.NaN()
		}
		return a / b
	}
	cpuRatio, rssRatio := ratio(cpuPer1000(ours), cpuPer1000(asrc)), ratio(float64(ours.peakRSS), float64(asrc.peakRSS))
	fmt.Printf("ours / apiserversource: CPU per event %.2fx (target <= 0.5x: %s), peak RSS %.2fx (target <= 0.4x: %s), CPU for the workload %.2fx\n",
		cpuRatio, verdict(cpuRatio <= 0.5), rssRatio, verdict(rssRatio <= 0.4), ratio(float64(ours.cpuTicks), float64(asrc.cpuTicks)))
	fmt.Printf("peak RSS less RSS watching an empty namespace (what caching %d TaskRuns adds): ours %.1f MiB, apiserversource %.1f MiB: %.2fx; ours watching an empty namespace: %.1f MiB, %.2fx apiserversource's peak\n",
		opts.cached, mib(ours.peakRSS-ours.idleRSS), mib(asrc.peakRSS-asrc.idleRSS),
		ratio(float64(ours.peakRSS-ours.idleRSS), float64(asrc.peakRSS-asrc.idleRSS)), mib(ours.idleRSS), ratio(float64(ours.idleRSS), float64(asrc.peakRSS)))
	fmt.Printf("ours / floor:           CPU per event %.2fx, peak RSS %.2fx, CPU for the workload %.2fx\n",
		ratio(cpuPer1000(ours), cpuPer1000(floor)), ratio(float64(ours.peakRSS), float64(floor.peakRSS)),
		ratio(float64(ours.cpuTicks), float64(floor.cpuTicks)))
	if send := byName["floor+send"]; send != nil {
		fmt.Printf("floor+send / apiserversource: CPU per event %.2fx (the least a watcher that sends one event per update pays)\n",
			ratio(cpuPer1000(send), cpuPer1000(asrc)))
	}
	fmt.Println("(events: all the contender produced during the workload, the CPU denominator; latency and events/s: those caused by the step status writes.)")
}

// tailSpread says when the slowest 1% of the samples were written: spread
// over the run, the tail is the contender's; bunched in a few seconds,
// it is a stall of the machine or the apiserver that every contender
// meets in its own rounds.
func tailSpread(samples []sample) string {
	sorted := slices.Clone(samples)
	sort.Slice(sorted, func(i, j int) bool {
		return sorted[i].arrived.Sub(sorted[i].written) > sorted[j].arrived.Sub(sorted[j].written)
	})
	tail := sorted[:len(sorted)/100]
	if len(tail) == 0 {
		return "too few samples for a tail"
	}
	perSecond := map[time.Time]int{}
	busiest := 0
	for _, s := range tail {
		sec := s.written.Truncate(time.Second)
		perSecond[sec]++
		busiest = max(busiest, perSecond[sec])
	}
	return fmt.Sprintf("the slowest 1%% (%d samples, from %s) were written in %d distinct seconds, at most %d in one",
		len(tail), (tail[len(tail)-1].arrived.Sub(tail[len(tail)-1].written)).Round(100*time.Microsecond), len(perSecond), busiest)
}

func cpuPer1000(m *summary) float64 {
	if m.events == 0 {
		return 0
	}
	return float64(m.cpuTicks) / 100 / float64(m.events) * 1000
}
