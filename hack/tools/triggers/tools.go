//go:build tools

// Package tools pins the Tekton Triggers commands this module builds.
package tools

import (
	_ "github.com/tektoncd/triggers/cmd/controller"
	_ "github.com/tektoncd/triggers/cmd/eventlistenersink"
	_ "github.com/tektoncd/triggers/cmd/interceptors"
	_ "github.com/tektoncd/triggers/cmd/webhook"
)
