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
	"bytes"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// The fuzzed logs are made of two alphabets, so that whatever base64 or
// secret text survives the masking comes from a planted secret: secrets
// are of fuzzAlphabet (base64's two alphabets and a dot), the text around
// them of fillerAlphabet, which has no character of a base64 word, a
// secret or a literal form of one (no % or backslash), and has runes of
// several bytes for the cut to fall inside.
const fuzzAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_."

var fillerAlphabet = []string{" ", " ", "\n", "\n", "\r\n", "\t", "!", `"`, "#", "&", "(", ")", ",", ":", ";", "<", ">", "?", "@", "[", "]", "{", "}", "|", "é", "€"}

// leakWindow is the length of the fragments of a secret that must not
// survive, as they are or decoded from base64: 6 bytes, which a fragment
// that was not planted matches by chance once in 2^48.
const leakWindow = 6

// pemArmor are a fuzzed PEM key's begin and end lines.
var pemArmor = [2]string{"-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----"}

// FuzzTail: a log holding secrets (of a random value set, each as it is,
// in base64, in base64 wrapped at 76 or 64 columns, as base64 of
// "user:" + value, or as the body of a PEM private key no value masks),
// cut at a random byte as steplog cuts logs, keeps no fragment of a secret
// of leakWindow bytes, as it is or decoded, and is never longer after the
// masking than before.
func FuzzTail(f *testing.F) {
	f.Add("s3cr3t-value-one\x00another/Secret+two", []byte{0, 4}, "x", "log: ; done\n", uint16(3))
	f.Add("wrapped-value-of-more-than-fifty-seven-bytes-to-wrap-the-base64-lines", []byte{2}, "", "\n\n", uint16(40))
	f.Add("wrapped-value-of-more-than-fifty-seven-bytes-to-wrap-the-base64-lines", []byte{3}, "", "€ :", uint16(90))
	f.Add("a-private-key-body-long-enough-for-several-lines-of-sixty-four-columns-each-one", []byte{5}, "", "(key)\n", uint16(50))
	f.Add("user-colon-secret\x00robot-token-value", []byte{4, 4}, "bot", `"auth":"`, uint16(0))
	f.Add("short-ok", []byte{1}, "xy", "é", uint16(7))
	f.Fuzz(func(t *testing.T, rawSecrets string, formsOf []byte, rawUser, rawFiller string, cut uint16) {
		var secrets []string
		for _, s := range strings.Split(rawSecrets, "\x00") {
			if s = mapTo(s, 150); len(s) >= 8 {
				secrets = append(secrets, s)
			}
		}
		if len(secrets) == 0 || len(secrets) > 4 {
			return
		}
		user := mapTo(rawUser, 12)
		filler := fillerPieces(rawFiller, len(secrets)+1)
		var values [][]byte
		protected := slices.Clone(secrets)
		public := strings.Join(pemArmor[:], " ")
		log := filler[0]
		for i, s := range secrets {
			form := 0
			if i < len(formsOf) {
				form = int(formsOf[i]) % 6
			}
			item, userPart := plant(s, form, user)
			if form == 5 {
				// A key the step made: only the patterns mask it.
				protected[i] = pemBody(s)
			} else {
				values = append(values, []byte(s))
			}
			public += " " + userPart
			log += " " + item + " " + filler[i+1]
		}
		patterns, err := Compile(nil)
		if err != nil {
			t.Fatal(err)
		}
		m := New(patterns, values)
		in, truncated := log, false
		if off := int(cut) % (len(log) + 1); off > 0 {
			// As steplog's tail: the last bytes, from a rune's start.
			in, truncated = log[off:], true
			for len(in) > 0 && !utf8.RuneStart(in[0]) {
				in = in[1:]
			}
		}
		out, _ := m.Log(in, truncated)
		if len(out) > len(in) {
			t.Fatalf("masking made the log longer: %d > %d bytes", len(out), len(in))
		}
		for _, p := range protected {
			if frag, ok := leaked(out, p, public); ok {
				t.Fatalf("a fragment %q of secret %q survived in %q (from %q)", frag, p, out, in)
			}
		}
	})
}

// mapTo is s, at most n bytes of it, in fuzzAlphabet.
func mapTo(s string, n int) string {
	b := []byte(s[:min(len(s), n)])
	for i, c := range b {
		b[i] = fuzzAlphabet[int(c)%len(fuzzAlphabet)]
	}
	return string(b)
}

// fillerPieces are n pieces of fillerAlphabet text made of s.
func fillerPieces(s string, n int) []string {
	pieces := make([]string, n)
	for i := 0; i < len(s) && i < 400; i++ {
		pieces[i%n] += fillerAlphabet[int(s[i])%len(fillerAlphabet)]
	}
	return pieces
}

// pemBody is the key a fuzzed PEM block holds, made of the secret.
func pemBody(s string) string { return s + "-as-a-key-" + s }

// plant is the secret in the form, and the part of it that is no secret:
// the groups of base64("user:" + secret) that encode the user alone.
func plant(s string, form int, user string) (item, userPart string) {
	enc := base64.StdEncoding.EncodeToString([]byte(s))
	switch form {
	case 1:
		return enc, ""
	case 2:
		return wrap(enc, 76, "\n"), ""
	case 3:
		return wrap(enc, 64, "\r\n"), ""
	case 4:
		prefix := user + ":"
		return base64.StdEncoding.EncodeToString([]byte(prefix + s)), base64.StdEncoding.EncodeToString([]byte(prefix[:len(prefix)/3*3])) + " " + prefix
	case 5:
		body := base64.StdEncoding.EncodeToString([]byte(pemBody(s)))
		return pemArmor[0] + "\n" + wrap(body, 64, "\n") + "\n" + pemArmor[1], ""
	}
	return s, ""
}

// leaked returns a fragment of secret of leakWindow bytes that out holds,
// as it is (with a letter or digit: the filler has none) or decoded from
// its base64 words (either alphabet, at each offset, lines joined), and
// that the public text around the secrets does not.
func leaked(out, secret, public string) (string, bool) {
	var windows []string
	for i := 0; i+leakWindow <= len(secret); i++ {
		if w := secret[i : i+leakWindow]; !strings.Contains(public, w) {
			windows = append(windows, w)
		}
	}
	for _, w := range windows {
		if strings.ContainsAny(w, fuzzAlphabet[:62]) && strings.Contains(out, w) {
			return w, true
		}
	}
	joined := strings.NewReplacer("\r", "", "\n", "").Replace(out)
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		words := strings.FieldsFunc(joined, func(r rune) bool {
			return !strings.ContainsRune(fuzzAlphabet[:62], r) && !(enc == base64.RawStdEncoding && (r == '+' || r == '/')) &&
				!(enc == base64.RawURLEncoding && (r == '-' || r == '_'))
		})
		for _, word := range words {
			for off := 0; off < 4 && off < len(word); off++ {
				chars := word[off:]
				decoded, err := enc.DecodeString(chars[:len(chars)/4*4])
				if err != nil {
					continue
				}
				for _, w := range windows {
					if bytes.Contains(decoded, []byte(w)) {
						return w, true
					}
				}
			}
		}
	}
	return "", false
}
