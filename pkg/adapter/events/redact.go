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

package events

import (
	"regexp"
	"strings"
	"unicode"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/masking"
)

// Redacted replaces literal environment values that might be secret.
const Redacted = "[REDACTED]"

// secretName matches variable names that suggest a credential.
var secretName = regexp.MustCompile(`(?i)(pass|secret|token|key|cred|auth|cert|private|session|cookie|signature|salt|dsn|conn)`)

// plainValue matches short, word-like values: booleans, numbers, log
// levels, paths and URLs without credentials.
var plainValue = regexp.MustCompile(`^[A-Za-z0-9 ._:/,=+-]{0,64}$`)

// Redact returns a copy of the step whose literal env values are replaced by
// Redacted unless they are plainly not secret. valueFrom references are kept:
// they name a Secret or ConfigMap key, not the value. Steps can carry tokens
// in literal env values, and events leave the cluster, so this errs on the
// side of redacting.
func Redact(step *pipelinev1.Step) *pipelinev1.Step {
	s := step.DeepCopy()
	for i := range s.Env {
		if s.Env[i].Value != "" && !PlainlyNotSecret(s.Env[i].Name, s.Env[i].Value) {
			s.Env[i].Value = Redacted
		}
	}
	return s
}

// PlainlyNotSecret reports whether an environment variable is evidently not
// a credential: a name that does not suggest one and a short value that does
// not look random (a long mix of letters and digits, like a token).
func PlainlyNotSecret(name, value string) bool {
	if secretName.MatchString(name) || !plainValue.MatchString(value) {
		return false
	}
	if strings.Contains(value, "@") {
		return false
	}
	for _, word := range strings.FieldsFunc(value, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if looksRandom(word) {
			return false
		}
	}
	return true
}

// looksRandom flags words of 12+ characters mixing digits with letters, or
// upper with lower case beyond camelCase: the shape of keys and tokens.
func looksRandom(word string) bool {
	if len(word) < 12 {
		return false
	}
	var digits, upper, lower int
	for _, r := range word {
		switch {
		case unicode.IsDigit(r):
			digits++
		case unicode.IsUpper(r):
			upper++
		case unicode.IsLower(r):
			lower++
		}
	}
	return (digits > 0 && upper+lower > 0) || (upper > 2 && lower > 2)
}

// maskStep masks the secrets in the step's definition (Redact's copy):
// Tekton substitutes params into status.taskSpec, so any of its strings (a
// script, args, a StepAction's params, a when expression, the image) can
// carry a token verbatim.
func maskStep(s *pipelinev1.Step, m *masking.Masker) *pipelinev1.Step {
	m.Strings(s)
	return s
}

// maskState masks the secrets in a copy of the step's state: its results
// (and the termination message they come in), its waiting message, its
// artifacts.
func maskState(st pipelinev1.StepState, m *masking.Masker) pipelinev1.StepState {
	if m == nil {
		return st
	}
	st = *st.DeepCopy()
	m.Strings(&st)
	return st
}
