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
//
// With -tls-cert and -tls-key (PEM files, e.g. a kubernetes.io/tls Secret
// mounted in the pod) it serves HTTPS only. With -token-extension NAME each
// printed event carries the subject and audience of the bearer token it
// came with as the extensions NAMEsub and NAMEaud (see
// receiver.WithTokenExtension).
package main

import (
	"context"
	"crypto/tls"
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
	tlsCert := flag.String("tls-cert", "", "PEM certificate (chain) file to serve HTTPS with, instead of HTTP; needs -tls-key")
	tlsKey := flag.String("tls-key", "", "PEM private key file of -tls-cert")
	tokenExt := flag.String("token-extension", "", "report each event's bearer token subject and audience as the extensions NAMEsub and NAMEaud (lowercase letters and digits; \"\": do not)")
	flag.Parse()

	var opts []receiver.Option
	if (*tlsCert == "") != (*tlsKey == "") {
		// Serving plain HTTP when one was forgotten would fail later and
		// less clearly, at the senders.
		log.Fatal("-tls-cert and -tls-key go together")
	}
	if *tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			log.Fatalf("loading the TLS certificate: %v", err)
		}
		opts = append(opts, receiver.WithTLS(cert))
	}
	if *tokenExt != "" {
		opts = append(opts, receiver.WithTokenExtension(*tokenExt))
	}

	r, err := receiver.Start(*addr, opts...)
	if err != nil {
		log.Fatalf("starting the receiver on %s: %v", *addr, err)
	}
	defer r.Stop()
	if *status != 0 {
		r.FailWith(*status)
	}
	fmt.Fprintf(os.Stderr, "receiving CloudEvents on %s\n", r.URL)

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
