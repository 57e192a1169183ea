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

package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildScriptMakesAPlugin builds the plugin with hack/build-kn-plugin.sh
// and runs it the way kn does: found on the PATH by its name kn-<group>-<command>.
func TestBuildScriptMakesAPlugin(t *testing.T) {
	dir := t.TempDir()
	build := exec.Command(filepath.Join("..", "..", "hack", "build-kn-plugin.sh"), dir)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("hack/build-kn-plugin.sh: %v\n%s", err, out)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	// kn's plugin lookup: `kn source tektonstep ...` -> kn-source-tektonstep.
	plugin, err := exec.LookPath("kn-" + strings.Join([]string{"source", "tektonstep"}, "-"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args     []string
		wantCode int
		want     []string
	}{
		{[]string{"--help"}, 0, []string{"kn source tektonstep [command]", "create", "update", "apply", "describe", "delete", "list"}},
		{[]string{"list", "--help"}, 0, []string{"kn source tektonstep list", "--all-namespaces", "--output"}},
		{[]string{"list", "--kubeconfig", filepath.Join(dir, "missing")}, 1, []string{"Error: no usable kubeconfig"}},
		{[]string{"frobnicate"}, 1, []string{`Error: unknown command "frobnicate"`}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, err := exec.Command(plugin, tt.args...).CombinedOutput()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d\n%s", code, tt.wantCode, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
