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

// Package masking replaces secrets in what an event carries (the step's log,
// script, args, command, env values, results) with Mask, as Tekton's own
// log masking proposal does (tektoncd/pipeline#9974): always, the matches
// of high-confidence token patterns (Builtin, plus a cluster's own from the
// config-masking ConfigMap); and, when a source opts in, the values of the
// Secrets the step references, with the forms they are commonly printed in.
// It is pure: the adapter reads the Secrets, this decides what to replace.
package masking

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Mask replaces every secret.
const Mask = "***"

// MinValueLength is the shortest Secret value that is masked: replacing
// every "1" or "ab" of a log would destroy it, and such values are no
// secret worth the name.
const MinValueLength = 4

// Builtin are the token patterns masked in every event, whatever the
// source: formats with a fixed, distinctive shape, so that what matches is
// a credential with near certainty.
var Builtin = []string{
	// JSON Web Tokens, Kubernetes service account tokens among them.
	`eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}`,
	// PEM private keys, to their end line or, in a cut log, the end (an
	// end line without its begin line: see keyTailEnd).
	`-----BEGIN` + pemKeyLabel + `(?s:.*?)(?:-----END` + pemKeyLabel + `|\z)`,
	// AWS access key ids.
	`\b(?:AKIA|ASIA)[A-Z0-9]{16}\b`,
	// GitHub tokens: classic (ghp_, gho_, ghu_, ghs_, ghr_) and fine-grained.
	`\bgh[pousr]_[A-Za-z0-9]{36,255}\b`,
	`\bgithub_pat_[A-Za-z0-9_]{22,255}\b`,
	// GitLab access tokens.
	`\bglpat-[A-Za-z0-9_-]{20,}\b`,
	// Slack tokens.
	`\bxox[abposr]-[A-Za-z0-9-]{10,}\b`,
	// Google API keys.
	`\bAIza[0-9A-Za-z_-]{35}\b`,
	// Stripe secret and restricted live keys.
	`\b[rs]k_live_[0-9A-Za-z]{20,}\b`,
	// npm access tokens.
	`\bnpm_[A-Za-z0-9]{36}\b`,
}

// pemKeyLabel ends the begin and end lines of a PEM private key (PKCS#8,
// PKCS#1, SEC 1, OpenSSH, encrypted, PGP's key blocks).
const pemKeyLabel = `[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----`

var pemKeyBegin, pemKeyEnd = regexp.MustCompile(`-----BEGIN` + pemKeyLabel), regexp.MustCompile(`-----END` + pemKeyLabel)

// keyTailEnd is where the last PEM private key end line of s without its
// begin line (none since the end line before it, or the start of s) ends;
// 0 if there is none. A log cut inside a key keeps its last lines and end
// line: decoded, the last lines of an RSA key hold its second prime and
// exponents, enough to rebuild it.
func keyTailEnd(s string) int {
	if !strings.Contains(s, "-----END") {
		return 0
	}
	end, from := 0, 0
	for _, line := range pemKeyEnd.FindAllStringIndex(s, -1) {
		if !pemKeyBegin.MatchString(s[from:line[0]]) {
			end = line[1]
		}
		from = line[1]
	}
	return end
}

// Patterns are compiled token patterns, shared by all of a source's
// events: one alternation, so a text is scanned once however many there are.
type Patterns struct{ re *regexp.Regexp }

// Compile compiles Builtin and the extra patterns (RE2 syntax); an invalid
// one is an error naming it.
func Compile(extra []string) (Patterns, error) {
	all := append(slices.Clone(Builtin), extra...)
	groups := make([]string, 0, len(all))
	for _, p := range all {
		if _, err := regexp.Compile(p); err != nil {
			return Patterns{}, fmt.Errorf("masking pattern %q: %w", p, err)
		}
		groups = append(groups, "(?:"+p+")")
	}
	re, err := regexp.Compile(strings.Join(groups, "|"))
	return Patterns{re: re}, err
}

// Masker masks one step's event: the source's patterns and the values of
// the Secrets the step references.
type Masker struct {
	patterns Patterns
	// literals are the forms of the secret values, longest first, so a
	// value is replaced whole before any shorter value inside it.
	literals []string
	replacer *strings.Replacer
	// cores and wrapped are the base64 forms of the values that are not
	// one string (encoded.go): the values inside longer encoded texts,
	// and the hashes, under seed, of the lines of their wrapped encodings
	// (as hashes: a CA bundle's lines would hold its encoding twice over;
	// a collision would mask one base64 word more).
	cores   []heldCore
	wrapped map[uint64]struct{}
	seed    maphash.Seed
	// size estimates the bytes all this holds (Size).
	size int
}

// New is the masker of the patterns and the secret values.
func New(patterns Patterns, values [][]byte) *Masker {
	seen := map[string]bool{}
	m := &Masker{patterns: patterns, wrapped: map[uint64]struct{}{}, seed: maphash.MakeSeed()}
	for _, v := range values {
		for _, form := range forms(string(v)) {
			if len(form) >= MinValueLength && !seen[form] {
				seen[form] = true
				m.literals = append(m.literals, form)
			}
		}
		m.addEncoded(string(v))
	}
	slices.SortFunc(m.literals, func(a, b string) int { return len(b) - len(a) })
	if len(m.literals) > 0 {
		pairs := make([]string, 0, 2*len(m.literals))
		for _, l := range m.literals {
			pairs = append(pairs, l, Mask)
		}
		m.replacer = strings.NewReplacer(pairs...)
	}
	m.size = m.estimateSize()
	return m
}

// forms are the ways a secret value shows in logs and scripts: as it is
// and without the trailing newline files often have; each line of a
// multi-line value (a log may show it with \r\n, or one line at a time);
// base64 (standard and URL alphabets, with and without padding) and URL
// encoding of the whole value; inside a JSON string (a step that prints
// a config or an API request: a value with a quote, a backslash or a
// newline is escaped there); and as `set -x` quotes a value containing a
// single quote. Its base64 wrapped into lines, and inside the base64 of a
// longer text, are masked apart (encoded.go).
func forms(v string) []string {
	trimmed := strings.TrimSpace(v)
	out := []string{v, trimmed}
	if strings.Contains(trimmed, "\n") {
		for _, line := range strings.Split(trimmed, "\n") {
			out = append(out, strings.TrimSpace(line))
		}
	}
	for _, s := range []string{v, trimmed} {
		b := []byte(s)
		out = append(out,
			base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
			base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b),
			url.QueryEscape(s), url.PathEscape(s))
		out = append(out, jsonEscaped(s)...)
	}
	if strings.Contains(trimmed, "'") {
		out = append(out, strings.ReplaceAll(trimmed, "'", `'\''`))
	}
	return out
}

// jsonEscaped are s as a JSON string's contents: escaped as Go's
// encoding/json does (<, > and & too) and as most other encoders do.
func jsonEscaped(s string) []string {
	var out []string
	for _, escapeHTML := range []bool{true, false} {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(escapeHTML)
		if enc.Encode(s) == nil {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(b.String(), "\n"), `"`), `"`))
		}
	}
	return out
}

// String masks s. With the patterns, a PEM private key's end line without
// its begin line masks all of s before it (keyTailEnd), whatever s is: a text that fits
// may still begin inside a key, as a step may print only a key's last
// lines (tail, sed, an error that quotes a file) and a step log read in
// full is only the container runtime's newest log file (the kubelet
// rotates it past containerLogMaxSize); and what precedes a key's end line
// is told from key lines by no sure sign (encrypted keys have headers,
// YAML indents them). A script that names only the end line loses its
// start, a loss that shows, where the other way round a key would leak.
func (m *Masker) String(s string) string {
	if m == nil {
		return s
	}
	if m.patterns.re != nil {
		if end := keyTailEnd(s); end > 0 {
			s = Mask + s[end:]
		}
	}
	// The wrapped lines go first: each is matched whole, so a core masked
	// inside one (a value whose encoding holds another's) would leave the
	// rest of the line unrecognised, and its bits of the value would stay.
	// Then the cores: a literal replaced inside an encoded text could cut
	// a core in two, and the bits of the value around the cut would stay.
	s = m.maskWrapped(s)
	s = m.maskCores(s)
	if m.replacer != nil {
		s = m.replacer.Replace(s)
	}
	if m.patterns.re != nil {
		s = m.patterns.re.ReplaceAllLiteralString(s, Mask)
	}
	return s
}

// Tail masks the tail of a longer text (a step log cut to its last bytes).
// The cut may have left the end of a secret at the start, which no pattern
// or value matches any more, so what comes before the first line break is
// dropped; without one, the first word and any start that ends a secret
// value. Dropped, not masked: the result is never longer than the text, so
// a log cap still holds. The last lines of a PEM private key, past its
// first line, String masks up to the key's end line.
func (m *Masker) Tail(s string) string {
	if m == nil {
		return s
	}
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i:]
	} else {
		cut := strings.IndexFunc(s, unicode.IsSpace)
		if cut < 0 {
			cut = len(s)
		}
		for _, l := range m.literals {
			cut = max(cut, longestSuffixPrefix(l, s))
		}
		s = s[cut:]
	}
	return m.String(s)
}

// Log masks a step log, the tail of a longer one when truncated. It never
// returns more bytes than it was given (a configured pattern may match
// fewer bytes than Mask has): a longer result loses its start, at a rune
// boundary, and counts as truncated, so the log cap holds.
func (m *Masker) Log(text string, truncated bool) (string, bool) {
	var masked string
	if truncated {
		masked = m.Tail(text)
	} else {
		masked = m.String(text)
	}
	if len(masked) <= len(text) {
		return masked, truncated
	}
	cut := len(masked) - len(text)
	for cut < len(masked) && !utf8.RuneStart(masked[cut]) {
		cut++
	}
	return masked[cut:], true
}

// longestSuffixPrefix is the length of the longest proper suffix of l that
// starts s.
func longestSuffixPrefix(l, s string) int {
	for k := min(len(l)-1, len(s)); k > 0; k-- {
		if strings.HasPrefix(s, l[len(l)-k:]) {
			return k
		}
	}
	return 0
}

// Size estimates the bytes the masker holds, for the bound on what the
// retries of a sink outage hold; a nil masker holds none.
func (m *Masker) Size() int {
	if m == nil {
		return 0
	}
	return m.size
}

// estimateSize is Size's estimate, near the heap New and a first String
// take (TestSizeEstimate): the masker, its replacer and the root table of
// the replacer's trie, about 512 bytes and a pointer per byte value the
// literals use; each literal, with three string headers (in the list and
// the replacer's pairs), a trie node of 80 bytes and, as literals part at
// about every other node, half a lookup table; each core as held (the
// fields and a copy of its head); a map slot of about 32 bytes per
// wrapped line's hash.
func (m *Masker) estimateSize() int {
	var used [256]bool
	literalBytes := 0
	for _, l := range m.literals {
		literalBytes += len(l)
		for i := 0; i < len(l); i++ {
			used[l[i]] = true
		}
	}
	tableSize := 0
	for _, u := range used {
		if u {
			tableSize++
		}
	}
	perLiteral := 3*16 + 80 + 8*tableSize/2
	perCore := 8*8 + coreHeadLength
	return 512 + 8*tableSize + literalBytes + len(m.literals)*perLiteral + len(m.cores)*perCore + len(m.wrapped)*32
}
