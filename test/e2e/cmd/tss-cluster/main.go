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

// Command tss-cluster is the Go half of hack/cluster-up.sh, hack/e2e.sh and
// hack/demo.sh: it writes the cluster's certificates, serves its DNS,
// serves its Service IPs, applies manifests, waits for readiness and prints step events.
package main

import (
	"fmt"
	"os"
)

func main() {
	cmds := map[string]func([]string) error{
		"pki":         pki,
		"dns":         dns,
		"services":    services,
		"apply":       apply,
		"wait-node":   waitNode,
		"wait-deploy": waitDeployments,
		"events":      events,
	}
	if len(os.Args) < 2 || cmds[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: tss-cluster pki|dns|services|apply|wait-node|wait-deploy|events [flags]")
		os.Exit(2)
	}
	if err := cmds[os.Args[1]](os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "tss-cluster %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
