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

// Package docs_test checks the documentation: README.md and docs/**/*.md.
// Every relative link points at a file or folder that exists, every anchor
// at a heading of its target, every test the docs name is a test of this
// repository, and the README stays a front page. Plain Go, no network.
package docs_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"
	"unicode"
)

// maxReadmeLines is the README's budget: a front page, the topics in docs/.
const maxReadmeLines = 220

// modulePath identifies the repository root (its go.mod).
const modulePath = "github.com/tektonstep/tekton-step-source"

// repoRoot is the folder of the repository's go.mod: two levels above this
// file, or (when the file's path is not available, e.g. with -trimpath)
// the first folder above the working directory whose go.mod is ours.
func repoRoot(t *testing.T) string {
	t.Helper()
	var candidates []string
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		candidates = append(candidates, filepath.Join(filepath.Dir(file), "..", ".."))
	}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			candidates = append(candidates, dir)
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	for _, dir := range candidates {
		mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(mod, []byte("module "+modulePath+"\n")) {
			return filepath.Clean(dir)
		}
	}
	t.Fatalf("no go.mod of %s above this test (tried %v)", modulePath, candidates)
	return ""
}

// markdownFiles lists README.md and every .md file under docs/, as paths
// relative to root with forward slashes.
func markdownFiles(t *testing.T, root string) []string {
	t.Helper()
	files := []string{"README.md"}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".md") {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files[1:])
	return files
}

// A link is an inline markdown link [text](target) found on a line.
type link struct {
	line   int
	text   string
	target string
}

// A mention is a test, fuzz test or benchmark named in code or brackets.
type mention struct {
	line int
	name string
}

// doc is what one markdown file holds, as far as these checks care.
type doc struct {
	links    []link
	slugs    map[string]bool // the GitHub anchors of its headings
	headings []string        // the anchors in order, for messages
	mentions []mention
	lines    int
}

var (
	atxHeading = regexp.MustCompile(`^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$`)
	// [text](target) or [text](target "title"); the text may hold one
	// level of brackets, the target no spaces or parentheses.
	inlineLink   = regexp.MustCompile(`\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*<?([^()\s<>]*)>?(?:\s+"[^"]*")?\s*\)`)
	bracketed    = regexp.MustCompile(`\[[^\[\]]*\]`)
	testName     = regexp.MustCompile(`\b(?:Test|Benchmark|Fuzz)[A-Z0-9_][A-Za-z0-9_]*`)
	testFunc     = regexp.MustCompile(`(?m)^func\s+((?:Test|Benchmark|Fuzz)[A-Za-z0-9_]*)\s*[\[(]`)
	uriScheme    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
	headingLink  = regexp.MustCompile(`!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\([^)]*\)`)
	headingMarks = regexp.MustCompile(`<[^>]+>`)
)

// fence returns the fence a line opens or closes (``` or ~~~, at least
// three), or "".
func fence(line string) string {
	s := strings.TrimLeft(line, " \t")
	for _, c := range []string{"`", "~"} {
		n := 0
		for n < len(s) && s[n:n+1] == c {
			n++
		}
		if n >= 3 {
			return s[:n]
		}
	}
	return ""
}

// codeSpans splits a line (outside fenced blocks) into its text with every
// inline code span blanked out, and the spans' contents.
func codeSpans(line string) (text string, spans []string) {
	var b strings.Builder
	for i := 0; i < len(line); {
		if line[i] != '`' {
			b.WriteByte(line[i])
			i++
			continue
		}
		n := 0
		for i+n < len(line) && line[i+n] == '`' {
			n++
		}
		ticks := line[i : i+n]
		end := -1
		for j := i + n; j < len(line); {
			k := strings.Index(line[j:], ticks)
			if k < 0 {
				break
			}
			k += j
			m := 0
			for k+m < len(line) && line[k+m] == '`' {
				m++
			}
			if m == n {
				end = k
				break
			}
			j = k + m
		}
		if end < 0 { // no closing run: the backticks are literal
			b.WriteString(ticks)
			i += n
			continue
		}
		spans = append(spans, line[i+n:end])
		b.WriteString(strings.Repeat(" ", end+n-i))
		i = end + n
	}
	return b.String(), spans
}

// slug is GitHub's anchor for a heading's rendered text: lower case,
// every space a '-', and everything but letters, digits, marks, '-' and
// '_' removed.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// headingText is the text GitHub renders for a heading's source: code
// spans' contents, links' texts, no emphasis or HTML.
func headingText(src string) string {
	s := headingLink.ReplaceAllString(src, "$1")
	s = headingMarks.ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, "`", "")
	s = strings.ReplaceAll(s, "*", "")
	return strings.TrimSpace(s)
}

// slugs gives each heading its anchor as GitHub does: the second heading
// with the same slug gets "-1", the third "-2", skipping anchors taken.
func slugs(headings []string) []string {
	taken := map[string]bool{}
	next := map[string]int{}
	var out []string
	for _, h := range headings {
		base := slug(headingText(h))
		s := base
		for taken[s] {
			next[base]++
			s = fmt.Sprintf("%s-%d", base, next[base])
		}
		taken[s] = true
		out = append(out, s)
	}
	return out
}

// parse reads a markdown file's links, headings and test mentions; fenced
// code blocks hold none of them, except test mentions, which count in code.
func parse(content string) doc {
	d := doc{slugs: map[string]bool{}}
	var headings []string
	open := ""
	sc := bufio.NewScanner(strings.NewReader(content))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		d.lines = n
		if f := fence(line); f != "" {
			switch {
			case open == "":
				open = f
				continue
			case f[0] == open[0] && len(f) >= len(open) && strings.TrimSpace(strings.TrimLeft(line, " \t")[len(f):]) == "":
				open = ""
				continue
			}
		}
		if open != "" {
			for _, m := range testName.FindAllString(line, -1) {
				d.mentions = append(d.mentions, mention{n, m})
			}
			continue
		}
		text, spans := codeSpans(line)
		for _, s := range spans {
			for _, m := range testName.FindAllString(s, -1) {
				d.mentions = append(d.mentions, mention{n, m})
			}
		}
		for _, b := range bracketed.FindAllString(text, -1) {
			for _, m := range testName.FindAllString(b, -1) {
				d.mentions = append(d.mentions, mention{n, m})
			}
		}
		if m := atxHeading.FindStringSubmatch(line); m != nil {
			headings = append(headings, m[2])
		}
		for _, m := range inlineLink.FindAllStringSubmatch(text, -1) {
			d.links = append(d.links, link{line: n, text: strings.TrimSpace(m[1]), target: m[2]})
		}
	}
	d.headings = slugs(headings)
	for _, s := range d.headings {
		d.slugs[s] = true
	}
	return d
}

func TestSlug(t *testing.T) {
	for _, tc := range []struct{ heading, want string }{
		{"The two commands", "the-two-commands"},
		{"Install on a real cluster", "install-on-a-real-cluster"},
		{"Finished steps of a pipeline (CESQL)", "finished-steps-of-a-pipeline-cesql"},
		{"Scale: many namespaces, replicas, churn, a long outage, the controller", "scale-many-namespaces-replicas-churn-a-long-outage-the-controller"},
		{"The p99 tail, 2026-12-04", "the-p99-tail-2026-12-04"},
		{"Lean decoding (`pkg/adapter/leanwatch`), 2026-12-02", "lean-decoding-pkgadapterleanwatch-2026-12-02"},
		{"`data`", "data"},
		{"Where ours' CPU and memory go", "where-ours-cpu-and-memory-go"},
		{"Knative Brokers, Tekton Triggers and more", "knative-brokers-tekton-triggers-and-more"},
		{"Use it with...", "use-it-with"},
		{"K_SOURCE_CONFIG and more", "k_source_config-and-more"},
		{"See [the API](api.md) — twice", "see-the-api--twice"},
		{"Kubernetes ≥ 1.30", "kubernetes--130"},
	} {
		if got := slug(headingText(tc.heading)); got != tc.want {
			t.Errorf("slug(%q) = %q, want %q", tc.heading, got, tc.want)
		}
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name      string
		content   string
		links     []string // targets
		headings  []string
		mentioned []string
	}{{
		name:     "links and headings",
		content:  "# Title\n\nSee [a](a.md), [b `x`](b.md#sec) and ![img](i.png \"t\").\n## Sec\n",
		links:    []string{"a.md", "b.md#sec", "i.png"},
		headings: []string{"title", "sec"},
	}, {
		name:      "fenced blocks hold no links or headings",
		content:   "```sh\n# not a heading [x](nope.md) TestInFence\n```\n~~~\n[y](nope.md)\n~~~\n## Real\n",
		headings:  []string{"real"},
		mentioned: []string{"TestInFence"},
	}, {
		name:      "code spans hold no links but name tests",
		content:   "Run `[x](nope.md)` and `TestOne`, [`TestTwo`, BenchmarkThree] but not TestFour or Tests.\n",
		mentioned: []string{"TestOne", "TestTwo", "BenchmarkThree"},
	}, {
		name:     "duplicate headings",
		content:  "## Replicas\n## Replicas\n## Replicas-1\n## Replicas\n",
		headings: []string{"replicas", "replicas-1", "replicas-1-1", "replicas-2"},
	}, {
		name:    "a link in a table and one in brackets",
		content: "| a | [b](b.md#x) |\n[see [c](c.md)]\n",
		links:   []string{"b.md#x", "c.md"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			d := parse(tc.content)
			var links, mentioned []string
			for _, l := range d.links {
				links = append(links, l.target)
			}
			for _, m := range d.mentions {
				mentioned = append(mentioned, m.name)
			}
			if fmt.Sprint(links) != fmt.Sprint(tc.links) {
				t.Errorf("links = %q, want %q", links, tc.links)
			}
			if fmt.Sprint(d.headings) != fmt.Sprint(tc.headings) {
				t.Errorf("headings = %q, want %q", d.headings, tc.headings)
			}
			if fmt.Sprint(mentioned) != fmt.Sprint(tc.mentioned) {
				t.Errorf("mentions = %q, want %q", mentioned, tc.mentioned)
			}
		})
	}
}

// docs parses every markdown file of the repository's documentation.
func docs(t *testing.T) (string, []string, map[string]doc) {
	t.Helper()
	root := repoRoot(t)
	files := markdownFiles(t, root)
	parsed := map[string]doc{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		parsed[f] = parse(string(b))
	}
	return root, files, parsed
}

func TestLinks(t *testing.T) {
	root, files, parsed := docs(t)
	// anchorsOf parses a markdown file a link points to (also one outside
	// README.md and docs/).
	anchorsOf := func(rel string) (doc, error) {
		if d, ok := parsed[rel]; ok {
			return d, nil
		}
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			return doc{}, err
		}
		d := parse(string(b))
		parsed[rel] = d
		return d, nil
	}
	checked := 0
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			for _, l := range parsed[file].links {
				if strings.HasPrefix(l.target, "http://") || strings.HasPrefix(l.target, "https://") || strings.HasPrefix(l.target, "mailto:") {
					continue
				}
				checked++
				where := fmt.Sprintf("%s:%d: link [%s](%s)", file, l.line, l.text, l.target)
				if uriScheme.MatchString(l.target) {
					t.Errorf("%s: want a relative path, an anchor or an http(s)/mailto URL", where)
					continue
				}
				if l.target == "" {
					t.Errorf("%s: empty target", where)
					continue
				}
				pathPart, anchor, _ := strings.Cut(l.target, "#")
				p, err := url.PathUnescape(pathPart)
				if err != nil {
					t.Errorf("%s: %v", where, err)
					continue
				}
				target := file
				if p != "" {
					if strings.HasPrefix(p, "/") {
						t.Errorf("%s: want a path relative to %s, not an absolute one", where, file)
						continue
					}
					target = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(file), p)))
					if target == ".." || strings.HasPrefix(target, "../") {
						t.Errorf("%s: %s is outside the repository", where, target)
						continue
					}
					if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(target))); err != nil {
						t.Errorf("%s: %s does not exist (want a file or folder of the repository, relative to %s)", where, target, file)
						continue
					}
				}
				if anchor == "" {
					continue
				}
				if !strings.HasSuffix(target, ".md") {
					t.Errorf("%s: anchor #%s on %s, which is not a markdown file", where, anchor, target)
					continue
				}
				d, err := anchorsOf(target)
				if err != nil {
					t.Errorf("%s: %v", where, err)
					continue
				}
				if !d.slugs[anchor] {
					t.Errorf("%s: %s has no heading whose anchor is #%s (its anchors: %s)", where, target, anchor, strings.Join(d.headings, ", "))
				}
			}
		})
	}
	if checked == 0 {
		t.Error("no relative link found in the docs: the parser is broken")
	}
}

// definedTests lists the Test, Benchmark and Fuzz functions of every
// *_test.go file of the repository (not .cache/, vendor/ or .git/).
func definedTests(t *testing.T, root string) map[string]bool {
	t.Helper()
	defined := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".cache", "vendor", ".git":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(d.Name(), "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range testFunc.FindAllSubmatch(b, -1) {
			defined[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !defined["TestTestNames"] {
		t.Fatalf("the walk of %s did not find this file's own tests", root)
	}
	return defined
}

func TestTestNames(t *testing.T) {
	root, files, parsed := docs(t)
	defined := definedTests(t, root)
	mentioned := 0
	for _, file := range files {
		for _, m := range parsed[file].mentions {
			mentioned++
			if !defined[m.name] {
				t.Errorf("%s:%d: %s is named, but no *_test.go file of the repository defines func %s (renamed? fix the doc)", file, m.line, m.name, m.name)
			}
		}
	}
	if mentioned == 0 {
		t.Error("the docs name no test at all: the parser is broken")
	}
}

func TestReadmeIsAFrontPage(t *testing.T) {
	_, _, parsed := docs(t)
	if n := parsed["README.md"].lines; n > maxReadmeLines {
		t.Errorf("README.md:%d: %d lines, want at most %d: move the topic to docs/ and link it from the README's index", n, n, maxReadmeLines)
	}
}
