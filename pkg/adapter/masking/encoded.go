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

package masking

import (
	"encoding/base64"
	"hash/maphash"
	"slices"
	"strings"
)

// This file masks the base64 forms of a secret value that are not one
// string a replacer can find: the encoding wrapped into lines, and the
// encoding of a longer text the value is part of.

// wrapWidths are the line widths base64 encoders wrap at: GNU base64's and
// MIME's 76 characters (57 bytes a line), PEM's and OpenSSL's 64. Both are
// multiples of 4, so every line, the last one padded, is whole groups of
// at least MinValueLength characters.
var wrapWidths = []int{76, 64}

// minCoreLength is the shortest core masked: 8 characters are 48 bits of
// the value, which unrelated base64 (a certificate, an image) matches by
// chance once in 2^48 positions. The core of a value of a few bytes is
// 4 to 7 characters, which such text does hold, and masking them out to
// their groups would cut holes into it. Values of 7 bytes and more have a
// core at every offset.
const minCoreLength = 8

// A core is the part of a value's base64 that is the same wherever the
// value is inside a longer encoded text (HTTP Basic's and a docker config's
// base64 of "user:" + value, a JWT's claims): for each offset k (mod 3) the
// value may start at, the encoding of k filler bytes and the value without
// the characters that also encode the filler (lead, at the start of its
// first 4-character group) or the byte after the value (the last, unless
// the value ends a group).
type core struct {
	text string
	lead int
}

// A heldCore is a core as a masker holds it: its first coreHeadLength
// characters, searched for, and the length and hash of the whole, which a
// match is checked against. A CA bundle's six cores would otherwise hold
// its encoding six times over; a hash collision would mask a text that
// begins like a core.
type heldCore struct {
	head   string
	length int
	sum    uint64
	lead   int
}

// coreHeadLength is how much of a core a masker holds.
const coreHeadLength = 32

// cores are v's cores in both base64 alphabets that are at least
// minCoreLength long.
func cores(v string) []core {
	var out []core
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for k, lead := range []int{0, 2, 3} {
			text := enc.EncodeToString(append(make([]byte, k, k+len(v)), v...))
			end := len(text)
			if (k+len(v))%3 != 0 {
				end--
			}
			if end-lead >= minCoreLength {
				out = append(out, core{text: text[lead:end], lead: lead})
			}
		}
	}
	return out
}

// wrappedLines are the lines of v's padded standard base64 wrapped at each
// of wrapWidths, when it is longer than one line.
func wrappedLines(v string) []string {
	enc := base64.StdEncoding.EncodeToString([]byte(v))
	var out []string
	for _, width := range wrapWidths {
		for i := 0; len(enc) > width && i < len(enc); i += width {
			out = append(out, enc[i:min(i+width, len(enc))])
		}
	}
	return out
}

// addEncoded adds the cores and wrapped lines of v and of v without the
// white space around it (a file's final newline), as forms does.
func (m *Masker) addEncoded(v string) {
	for _, s := range slices.Compact([]string{v, strings.TrimSpace(v)}) {
		if len(s) < MinValueLength {
			continue
		}
		for _, c := range cores(s) {
			// The head is a copy: a slice would keep the whole encoding.
			head := strings.Clone(c.text[:min(coreHeadLength, len(c.text))])
			held := heldCore{head: head, length: len(c.text), sum: maphash.String(m.seed, c.text), lead: c.lead}
			if !slices.Contains(m.cores, held) {
				m.cores = append(m.cores, held)
			}
		}
		for _, line := range wrappedLines(s) {
			m.wrapped[maphash.String(m.seed, line)] = struct{}{}
		}
	}
}

// isStdBase64 is true of the characters of the standard alphabet.
func isStdBase64(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '/'
}

// isBase64 is true of the characters of either alphabet.
func isBase64(c byte) bool { return isStdBase64(c) || c == '-' || c == '_' }

// maskCores masks each core in s out to the 4-character groups it is in:
// the characters of the groups it shares with the text around the value
// hold bits of the value's first and last bytes. Every core is found in s
// as it came, and the union of their spans masked in one pass: one value's
// core masked first (a value whose encoding repeats inside another's, as
// "wwwwwwww" in "user:wwwwxwww...") would cut the other's core in two, and
// the bits of that value around the cut would stay.
func (m *Masker) maskCores(s string) string {
	type span struct{ start, end int }
	var spans []span
	for _, c := range m.cores {
		for from := 0; ; {
			i := strings.Index(s[from:], c.head)
			if i < 0 {
				break
			}
			i += from
			end := i + c.length
			if end > len(s) || maphash.String(m.seed, s[i:end]) != c.sum {
				from = i + 1
				continue
			}
			start := i
			for start > 0 && i-start < c.lead && isBase64(s[start-1]) {
				start--
			}
			for n := (4 - (c.lead+c.length)%4) % 4; n > 0 && end < len(s) && (isBase64(s[end]) || s[end] == '='); n-- {
				end++
			}
			spans = append(spans, span{start, end})
			from = i + 1
		}
	}
	if len(spans) == 0 {
		return s
	}
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	var b strings.Builder
	kept := 0
	for k := 0; k < len(spans); {
		start, end := spans[k].start, spans[k].end
		for k++; k < len(spans) && spans[k].start <= end; k++ {
			end = max(end, spans[k].end)
		}
		b.WriteString(s[kept:max(kept, start)])
		b.WriteString(Mask)
		kept = max(kept, end)
	}
	b.WriteString(s[kept:])
	return b.String()
}

// maskWrapped masks each base64 word of s (a run of the standard alphabet
// and its padding) that is a line of a value's wrapped encoding, wherever
// it is: with "\n" or "\r\n" line ends, indented in a YAML block, or the
// lines left after a log's cut.
func (m *Masker) maskWrapped(s string) string {
	if len(m.wrapped) == 0 {
		return s
	}
	var b strings.Builder
	kept, masked := 0, false
	for i := 0; i < len(s); {
		if !isStdBase64(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isStdBase64(s[j]) {
			j++
		}
		for pad := 0; pad < 2 && j < len(s) && s[j] == '='; pad++ {
			j++
		}
		if _, ok := m.wrapped[maphash.String(m.seed, s[i:j])]; ok {
			b.WriteString(s[kept:i])
			b.WriteString(Mask)
			kept, masked = j, true
		}
		i = j
	}
	if !masked {
		return s
	}
	b.WriteString(s[kept:])
	return b.String()
}
