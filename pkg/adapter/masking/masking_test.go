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
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Tokens of each built-in format, made up (written out, so a pattern
// change that stops matching one fails here).
var tokens = map[string]string{
	"JWT":        "eyJhbGciOiJSUzI1NiIsImtpZCI6IkFCQyJ9.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50In0.c2lnbmF0dXJlLW1hZGUtdXAtZm9yLXRlc3Rz",
	"AWS":        "AKIAIOSFODNN7EXAMPLE",
	"GitHub":     "ghp_" + strings.Repeat("a1B2", 9),
	"GitHub PAT": "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
	"GitLab":     "glpat-" + strings.Repeat("x9", 10),
	"Slack":      "xoxb-123456789012-abcdefghij",
	"Google":     "AIza" + strings.Repeat("Sy", 17) + "Z",
	"Stripe":     "sk_live_" + strings.Repeat("4eC3", 6),
	"npm":        "npm_" + strings.Repeat("AbC1", 9),
}

func TestPatterns(t *testing.T) {
	patterns, err := Compile([]string{`\bACME-[0-9]{6}\b`})
	if err != nil {
		t.Fatal(err)
	}
	m := New(patterns, nil)
	for name, token := range tokens {
		t.Run(name, func(t *testing.T) {
			in := "curl -H 'Authorization: Bearer " + token + "' https://api.example\ntoken=" + token + ";"
			want := "curl -H 'Authorization: Bearer ***' https://api.example\ntoken=***;"
			if got := m.String(in); got != want {
				t.Errorf("String(%q)\n = %q\nwant %q", in, got, want)
			}
		})
	}
	tests := []struct{ name, in, want string }{
		{"a configured pattern", "ticket ACME-123456 done", "ticket *** done"},
		{"a PEM private key, whole", "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK\n-----END RSA PRIVATE KEY-----\ndone", "key:\n***\ndone"},
		{"a PEM private key cut at the end of a log", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXkt", "***"},
		{"a public key is no secret", "-----BEGIN PUBLIC KEY-----\nMFkwEwYH\n-----END PUBLIC KEY-----", "-----BEGIN PUBLIC KEY-----\nMFkwEwYH\n-----END PUBLIC KEY-----"},
		{"ordinary text", "go test ./... ok github.com/x 0.5s, AKIA is not a key", "go test ./... ok github.com/x 0.5s, AKIA is not a key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := m.String(tc.in); got != tc.want {
				t.Errorf("String(%q)\n = %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestCompileRefusesInvalidPatterns(t *testing.T) {
	if _, err := Compile([]string{"a(b"}); err == nil || !strings.Contains(err.Error(), `"a(b"`) {
		t.Errorf("Compile = %v, want an error naming the pattern", err)
	}
}

// TestValues: a Secret's value is masked as it is printed, in the forms
// people and tools print it in.
func TestValues(t *testing.T) {
	const secret = "s3cr3t-V4lue/with+chars"
	m := New(Patterns{}, [][]byte{[]byte(secret + "\n"), []byte("ab"), []byte("it's-a-secret"), []byte("line-one\nline-two\n"),
		[]byte(`pa"ss\w<rd>`)})
	tests := []struct{ name, in, want string }{
		{"echoed", "token is " + secret + ".", "token is ***."},
		{"set -x", "+ curl -u admin:" + secret + " https://x", "+ curl -u admin:*** https://x"},
		{"set -x quoting a value with a quote", "+ echo 'it'\\''s-a-secret'", "+ echo '***'"},
		{"base64", "Authorization: Basic czNjcjN0LVY0bHVlL3dpdGgrY2hhcnM=", "Authorization: Basic ***"},
		{"base64 URL alphabet, unpadded", "jwt czNjcjN0LVY0bHVlL3dpdGgrY2hhcnM", "jwt ***"},
		{"URL-encoded", "https://x/?token=s3cr3t-V4lue%2Fwith%2Bchars&a=1", "https://x/?token=***&a=1"},
		{"a multi-line value, whole (its own final newline too)", "key:\nline-one\nline-two\nend", "key:\n***end"},
		{"a multi-line value, with CRLF", "key:\r\nline-one\r\nline-two\r\nend", "key:\r\n***\r\n***\r\nend"},
		{"one line of it", "only line-two here", "only *** here"},
		{"in a JSON string", `{"password":"pa\"ss\\w<rd>","key":"line-one\nline-two"}`, `{"password":"***","key":"***"}`},
		{"in a JSON string Go's encoder wrote", `{"password":"pa\"ss\\w\u003crd\u003e"}`, `{"password":"***"}`},
		{"too short to mask", "ab abc", "ab abc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := m.String(tc.in); got != tc.want {
				t.Errorf("String(%q)\n = %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestTail: a log cut to its tail may start inside a secret; the partial
// start goes, and the result is never longer than the text.
func TestTail(t *testing.T) {
	const secret = "correct horse battery staple"
	m := New(Patterns{}, [][]byte{[]byte(secret)})
	tests := []struct{ name, in, want string }{
		{"the cut inside a secret with spaces", "battery staple and the rest", " and the rest"},
		{"the cut inside a first line", "ry staple\nbuild ok\n", "\nbuild ok\n"},
		{"the cut inside a word, no line break", "en9cQ== done", " done"},
		{"a whole secret after the cut", "build\nx: " + secret + "\nok", "\nx: ***\nok"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := m.Tail(tc.in); got != tc.want {
				t.Errorf("Tail(%q)\n = %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
	var none *Masker
	if got := none.String("x " + secret); got != "x "+secret {
		t.Errorf("a nil masker changed the text: %q", got)
	}
}

// TestKeyTail: a PEM private key's end line without its begin line masks
// all of the text before it. With log.maxBytes 1024, the tail of a log
// that printed a 2048-bit RSA key keeps 14 lines of the key and its end
// line, and those lines hold its second prime: nothing of them may stay.
// The same holds for a text that was not cut (a step that printed only a
// key's last lines), and a public key's end line is no key's.
func TestKeyTail(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	block := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	log := "+ openssl genrsa 2048\n" + block + "key written\n"
	lines := strings.Split(strings.TrimSuffix(block, "\n"), "\n")
	lastLines := strings.Join(lines[len(lines)-4:], "\n")
	patterns, err := Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	m := New(patterns, nil)
	tests := []struct {
		name      string
		in        string
		truncated bool
		want      string
	}{
		{name: "a log cut inside a key (log.maxBytes 1024)", in: log[len(log)-1024:], truncated: true, want: "***\nkey written\n"},
		{name: "a step that printed only a key's last lines", in: "+ tail -n 4 key.pem\n" + lastLines + "\nok", want: "***\nok"},
		{name: "a key's tail, then a whole key", in: lastLines + "\n" + block + "done", want: "***\n***\ndone"},
		{name: "a whole key, then another key's tail", in: block + "next:\n" + lastLines + "\ndone", want: "***\ndone"},
		{name: "a public key's end line", in: "MFkwEwYH\n-----END PUBLIC KEY-----\n", want: "MFkwEwYH\n-----END PUBLIC KEY-----\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := m.Log(tc.in, tc.truncated)
			if got != tc.want {
				t.Errorf("Log(%q, %v)\n = %q\nwant %q", tc.in, tc.truncated, got, tc.want)
			}
		})
	}
}

// wrap is s wrapped into lines of width characters ended by eol, as GNU
// base64 (76) and openssl base64 (64) print an encoding.
func wrap(s string, width int, eol string) string {
	var lines []string
	for len(s) > width {
		lines = append(lines, s[:width])
		s = s[width:]
	}
	return strings.Join(append(lines, s), eol)
}

// TestEncodedValues: a value's base64 wrapped into lines (GNU base64
// wraps at 76 columns, so a value of more than 57 bytes never shows as one
// base64 string), and the base64 of a longer text holding it (HTTP Basic's
// and a docker config's "user:" + value, a JWT's claims) are masked, at
// each offset the value may start at, out to the 4-character groups that
// hold any of its bits; a value too short to tell inside other base64 is
// not looked for there.
func TestEncodedValues(t *testing.T) {
	const secret = "wrapped-S3cret/value+wrapped-S3cret/value+wrapped-S3cret/value+wrapped-S3cret/value+wrapp"
	b64 := base64.StdEncoding.EncodeToString
	enc := b64([]byte(secret))
	m := New(Patterns{}, [][]byte{[]byte(secret + "\n"), []byte("pass1")})
	tests := []struct {
		name      string
		in        string
		truncated bool
		want      string
	}{
		{name: "wrapped at 76 (GNU base64)", in: "+ base64 token\n" + wrap(enc, 76, "\n") + "\ndone", want: "+ base64 token\n***\n***\ndone"},
		{name: "wrapped at 76, CRLF", in: wrap(enc, 76, "\r\n") + "\r\n", want: "***\r\n***\r\n"},
		{name: "wrapped at 64 (openssl base64)", in: wrap(enc, 64, "\n"), want: "***\n***"},
		{name: "wrapped, indented in YAML", in: "data: |\n  " + wrap(enc, 76, "\n  ") + "\n", want: "data: |\n  ***\n  ***\n"},
		{name: "wrapped, the log cut inside its first line", in: enc[30:76] + "\n" + enc[76:] + "\nok", truncated: true, want: "\n***\nok"},
		{name: "user:value, the value at offset 2", in: "Authorization: Basic " + b64([]byte("x:"+secret)), want: "Authorization: Basic ***"},
		{name: "user:value, the value at offset 0", in: "Basic " + b64([]byte("xy:"+secret)) + " sent", want: "Basic eHk6*** sent"},
		{name: "user:value, the value at offset 1", in: "Basic " + b64([]byte("xyz:"+secret)), want: "Basic eHl6***"},
		{name: "a docker config's auth", in: `{"auths":{"r.example":{"auth":"` + b64([]byte("robot:"+secret)) + `"}}}`, want: `{"auths":{"r.example":{"auth":"cm9ib3Q6***"}}}`},
		{name: "a JWT's claims (URL alphabet, unpadded)", in: "claims " + base64.RawURLEncoding.EncodeToString([]byte(`{"pw":"`+secret+`"}`)), want: "claims eyJwdyI6***In0"},
		{name: "a short value inside base64 is not looked for", in: "Basic " + b64([]byte("user:pass1")), want: "Basic " + b64([]byte("user:pass1"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := m.Log(tc.in, tc.truncated); got != tc.want {
				t.Errorf("Log(%q, %v)\n = %q\nwant %q", tc.in, tc.truncated, got, tc.want)
			}
		})
	}
}

// TestSizeEstimate: Size is near the heap a masker takes once it masked a
// text (strings.Replacer builds its trie then), from one short token to a
// 226 KiB CA bundle, whose lines and encodings make thousands of literals.
func TestSizeEstimate(t *testing.T) {
	var bundle strings.Builder
	for bundle.Len() < 226<<10 {
		der := make([]byte, 900)
		if _, err := rand.Read(der); err != nil {
			t.Fatal(err)
		}
		bundle.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	}
	patterns, err := Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	// Small maskers are measured by the hundred, above the heap's noise.
	tests := []struct {
		name   string
		values []string
		copies int
	}{
		{name: "a token", values: []string{"s3cr3t-V4lue/with+chars"}, copies: 500},
		{name: "a few values", values: []string{"user-name", "p4ssw0rd-of-some-length", strings.Repeat("long-value-", 20)}, copies: 200},
		{name: "a CA bundle", values: []string{bundle.String()}, copies: 1},
	}
	heap := func() int {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int(ms.HeapAlloc)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			values := make([][]byte, len(tc.values))
			for i, v := range tc.values {
				values[i] = []byte(v)
			}
			maskers := make([]*Masker, tc.copies)
			before := heap()
			for i := range maskers {
				maskers[i] = New(patterns, values)
				maskers[i].String("x")
			}
			taken := (heap() - before) / tc.copies
			if size := maskers[0].Size(); size < taken/2 || size > 2*taken {
				t.Errorf("Size() = %d, a masker takes %d bytes", size, taken)
			}
			runtime.KeepAlive(maskers)
		})
	}
}

// TestLogNeverGrows: a log stays within the bytes it had, however short
// what a configured pattern matches.
func TestLogNeverGrows(t *testing.T) {
	patterns, err := Compile([]string{`x`})
	if err != nil {
		t.Fatal(err)
	}
	m := New(patterns, nil)
	tests := []struct {
		in, want      string
		truncated     bool
		wantTruncated bool
	}{
		{in: "axbxc", want: "***b***c", wantTruncated: true},
		{in: "ab ok", want: "ab ok"},
		{in: "é-x", want: "é-***", wantTruncated: true},
		{in: "cut\nx", want: "\n***", truncated: true, wantTruncated: true},
	}
	for _, tc := range tests {
		got, truncated := m.Log(tc.in, tc.truncated)
		if len(got) > len(tc.in) || !strings.HasSuffix(tc.want, got) || truncated != tc.wantTruncated {
			t.Errorf("Log(%q, %v) = %q, %v; want the end of %q within %d bytes, truncated %v", tc.in, tc.truncated, got, truncated, tc.want, len(tc.in), tc.wantTruncated)
		}
	}
}

// TestStrings: every string field of a nested value is masked in place,
// through pointers, slices, maps and interfaces; map keys and unexported
// fields are left alone.
func TestStrings(t *testing.T) {
	type inner struct {
		Value  string
		Values []string
		ByKey  map[string]string
	}
	type outer struct {
		Name     string
		Inner    *inner
		Inners   []inner
		Any      interface{}
		Count    int
		hidden   string
		Nil      *inner
		NilSlice []string
	}
	m := New(Patterns{}, [][]byte{[]byte("planted-s3cret")})
	got := &outer{
		Name:   "x planted-s3cret",
		Inner:  &inner{Value: "planted-s3cret", Values: []string{"a", "planted-s3cret"}, ByKey: map[string]string{"planted-s3cret": "planted-s3cret"}},
		Inners: []inner{{Value: "-planted-s3cret-"}},
		Any:    &inner{Value: "planted-s3cret"},
		Count:  3,
		hidden: "planted-s3cret",
	}
	m.Strings(got)
	want := &outer{
		Name:   "x ***",
		Inner:  &inner{Value: "***", Values: []string{"a", "***"}, ByKey: map[string]string{"planted-s3cret": "***"}},
		Inners: []inner{{Value: "-***-"}},
		Any:    &inner{Value: "***"},
		Count:  3,
		hidden: "planted-s3cret",
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(outer{})); diff != "" {
		t.Errorf("Strings (-want +got):\n%s", diff)
	}
	var nilMasker *Masker
	nilMasker.Strings(got) // a source that masks nothing
}
