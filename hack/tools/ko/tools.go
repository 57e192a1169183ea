//go:build tools

// Package tools pins ko, which builds our controller and receive adapter
// images (hack/verify-ko.sh, hack/lib.sh deploy_project).
package tools

import _ "github.com/google/ko"
