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

// Command receiver is the CloudEvents sink image of the single-node cluster:
// test/receiver behind an HTTP port, printing every accepted event as one
// JSON line (structured CloudEvents form) on stdout, where the end-to-end
// tests and hack/demo.sh read them through the pod's log.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tektonstep/tekton-step-source/test/receiver"
)

func main() {
	addr := flag.String("addr", ":8080", "address to listen on")
	status := flag.Int("status", 0, "answer every event with this HTTP status and keep none (0: accept them)")
	flag.Parse()

	r, err := receiver.Start(*addr)
	if err != nil {
		log.Fatalf("listening on %s: %v", *addr, err)
	}
	defer r.Stop()
	if *status != 0 {
		r.FailWith(*status)
	}
	fmt.Fprintf(os.Stderr, "receiving CloudEvents on %s\n", *addr)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	enc := json.NewEncoder(os.Stdout)
	printed := 0
	for {
		events, err := r.WaitForCount(ctx, time.Hour, printed+1)
		if ctx.Err() != nil {
			return
		}
		if err != nil && len(events) <= printed {
			continue
		}
		for _, e := range events[printed:] {
			if err := enc.Encode(e); err != nil {
				log.Fatalf("writing event: %v", err)
			}
		}
		printed = len(events)
	}
}
