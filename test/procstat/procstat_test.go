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

package procstat

import (
	"os"
	"os/exec"
	"testing"
)

// TestChildren: a process this test starts is among its children, by
// name, and a process that is not its child is not.
func TestChildren(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	children, err := Children(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if got := children[cmd.Process.Pid]; got != "sleep" {
		t.Errorf("Children(self)[%d] = %q, want sleep (all: %v)", cmd.Process.Pid, got, children)
	}
	if _, ok := children[os.Getppid()]; ok {
		t.Errorf("Children(self) lists its own parent %d: %v", os.Getppid(), children)
	}
	grandchildren, err := Children(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if len(grandchildren) != 0 {
		t.Errorf("Children(sleep) = %v, want none", grandchildren)
	}
}
