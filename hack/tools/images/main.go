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

// Command imagetool packs files from this machine (static binaries, busybox)
// into a single-layer container image and writes it as a docker-archive
// tarball, which `ctr images import` loads into containerd, or as an OCI
// image layout (ko's base image, found by digest in KOCACHE/img). No
// registry, no Docker.
//
//	imagetool -tag example.local/x:v1 -out x.tar -base \
//	  -file ./bin/x=/ko-app/x -entrypoint /ko-app/x -user 65532
//
// Every file gets the same fixed timestamp, so the same inputs always give
// the same image digest.
//
//	imagetool serve-registry
//
// runs an in-memory registry on a free loopback port, prints its address
// (127.0.0.1:PORT) and serves until its standard input closes or it gets
// SIGINT/SIGTERM: `ko resolve` pushes our images there and containerd
// pulls them from there (hack/lib.sh).
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

// entry is one file, folder or symlink of the layer.
type entry struct {
	path   string // absolute path in the image
	src    string // file on this machine (regular files)
	data   []byte // literal content (regular files), when src is empty
	mode   int64
	dir    bool
	target string // symlink target
	owner  int    // uid and gid
}

var epoch = time.Unix(0, 0).UTC()

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve-registry" {
		serveRegistry(os.Args[2:])
		return
	}
	var tags, files, dirs, links, envs multiFlag
	out := flag.String("out", "", "write a docker-archive tarball here (for ctr images import)")
	ociLayout := flag.String("oci-layout", "", "write an OCI image layout into this folder")
	entrypoint := flag.String("entrypoint", "", "entrypoint, space separated")
	cmd := flag.String("cmd", "", "command (arguments to the entrypoint), space separated")
	user := flag.String("user", "", "user the image runs as (uid or uid:gid)")
	workdir := flag.String("workdir", "", "working directory")
	base := flag.Bool("base", false, "add what a distroless static base has: /etc/passwd and /etc/group "+
		"with root and nonroot (65532), /tmp, /home/nonroot and the host's CA bundle")
	flag.Var(&tags, "tag", "image name (repeatable)")
	flag.Var(&files, "file", "SRC=DST[:MODE] copies the file SRC (symlinks followed) to DST (repeatable)")
	flag.Var(&dirs, "dir", "DST[:MODE] creates a folder (repeatable)")
	flag.Var(&links, "link", "DST=TARGET creates a symlink (repeatable)")
	flag.Var(&envs, "env", "KEY=VALUE environment variable (repeatable)")
	flag.Parse()
	if *out == "" && *ociLayout == "" {
		fail("need -out or -oci-layout")
	}
	if *out != "" && len(tags) == 0 {
		fail("-out needs at least one -tag")
	}

	var entries []entry
	if *base {
		entries = append(entries, baseEntries()...)
	}
	for _, f := range files {
		src, dst, ok := strings.Cut(f, "=")
		if !ok {
			fail("bad -file %q: want SRC=DST[:MODE]", f)
		}
		dst, mode := splitMode(dst, -1)
		if mode < 0 {
			st, err := os.Stat(src)
			if err != nil {
				fail("%v", err)
			}
			mode = int64(st.Mode().Perm())
		}
		entries = append(entries, entry{path: dst, src: src, mode: mode})
	}
	for _, d := range dirs {
		dst, mode := splitMode(d, 0o755)
		entries = append(entries, entry{path: dst, dir: true, mode: mode})
	}
	for _, l := range links {
		dst, target, ok := strings.Cut(l, "=")
		if !ok {
			fail("bad -link %q: want DST=TARGET", l)
		}
		entries = append(entries, entry{path: dst, target: target, mode: 0o777})
	}

	layerBytes, err := buildLayer(entries)
	if err != nil {
		fail("building the layer: %v", err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		fail("%v", err)
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		fail("%v", err)
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cfgFile, err := img.ConfigFile()
	if err != nil {
		fail("%v", err)
	}
	cfgFile = cfgFile.DeepCopy()
	cfgFile.Architecture = runtime.GOARCH
	cfgFile.OS = "linux"
	cfgFile.Created = v1.Time{Time: epoch}
	cfgFile.Config.Env = append([]string{"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}, envs...)
	cfgFile.Config.Entrypoint = fields(*entrypoint)
	cfgFile.Config.Cmd = fields(*cmd)
	cfgFile.Config.User = *user
	cfgFile.Config.WorkingDir = *workdir
	img, err = mutate.ConfigFile(img, cfgFile)
	if err != nil {
		fail("%v", err)
	}
	digest, err := img.Digest()
	if err != nil {
		fail("%v", err)
	}

	if *out != "" {
		refs := map[name.Reference]v1.Image{}
		for _, t := range tags {
			ref, err := name.NewTag(t, name.WeakValidation)
			if err != nil {
				fail("bad -tag %q: %v", t, err)
			}
			refs[ref] = img
		}
		tmp := *out + ".tmp"
		if err := tarball.MultiRefWriteToFile(tmp, refs); err != nil {
			fail("writing %s: %v", *out, err)
		}
		if err := os.Rename(tmp, *out); err != nil {
			fail("%v", err)
		}
	}
	if *ociLayout != "" {
		if err := os.RemoveAll(*ociLayout); err != nil {
			fail("%v", err)
		}
		p, err := layout.Write(*ociLayout, empty.Index)
		if err != nil {
			fail("%v", err)
		}
		if err := p.AppendImage(img); err != nil {
			fail("%v", err)
		}
	}
	fmt.Println(digest.String())
}

// serveRegistry serves an in-memory registry on a loopback address until
// standard input reaches EOF (the caller closed its end of the pipe or
// exited, whatever killed it) or a signal arrives.
func serveRegistry(args []string) {
	fs := flag.NewFlagSet("serve-registry", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback only)")
	verbose := fs.Bool("v", false, "log every request to stderr")
	_ = fs.Parse(args)
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		fail("bad -addr %q: %v", *addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		fail("-addr %q: only loopback addresses", *addr)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fail("%v", err)
	}
	logger := log.New(io.Discard, "", 0)
	if *verbose {
		logger = log.New(os.Stderr, "registry: ", log.LstdFlags)
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(logger)), ReadHeaderTimeout: 30 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Println(ln.Addr().String())

	stop := make(chan struct{}, 3)
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop <- struct{}{}
	}()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	select {
	case <-stop:
	case <-sigs:
	case err := <-served:
		fail("serving: %v", err)
	}
	_ = srv.Close()
}

// baseEntries are the files of a distroless "static" base image, which ko's
// images and Tekton's expect (a nonroot user 65532, /tmp, CA certificates).
func baseEntries() []entry {
	es := []entry{
		{path: "/etc", dir: true, mode: 0o755},
		{path: "/etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/sbin/nologin\n" +
			"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
			"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{path: "/etc/group", mode: 0o644, data: []byte("root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n")},
		{path: "/etc/nsswitch.conf", mode: 0o644, data: []byte("hosts: files dns\n")},
		{path: "/tmp", dir: true, mode: 0o1777},
		{path: "/root", dir: true, mode: 0o700},
		{path: "/home", dir: true, mode: 0o755},
		{path: "/home/nonroot", dir: true, mode: 0o700, owner: 65532},
	}
	const bundle = "/etc/ssl/certs/ca-certificates.crt"
	if _, err := os.Stat(bundle); err == nil {
		es = append(es, entry{path: bundle, src: bundle, mode: 0o644})
	}
	return es
}

// buildLayer writes the entries as a tar, adding missing parent folders, in
// path order, with fixed timestamps and owners.
func buildLayer(entries []entry) ([]byte, error) {
	byPath := map[string]entry{}
	for _, e := range entries {
		e.path = path.Clean("/" + e.path)
		byPath[e.path] = e
		for dir := path.Dir(e.path); dir != "/"; dir = path.Dir(dir) {
			if _, ok := byPath[dir]; !ok {
				byPath[dir] = entry{path: dir, dir: true, mode: 0o755}
			}
		}
	}
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	sort.Strings(paths)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		e := byPath[p]
		hdr := &tar.Header{Name: strings.TrimPrefix(p, "/"), Mode: e.mode, ModTime: epoch, Format: tar.FormatPAX,
			Uid: e.owner, Gid: e.owner}
		if e.mode&0o1000 != 0 {
			hdr.Mode = e.mode&0o777 | 0o1000
		}
		switch {
		case e.dir:
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
			if err := tw.WriteHeader(hdr); err != nil {
				return nil, err
			}
		case e.target != "":
			hdr.Typeflag = tar.TypeSymlink
			hdr.Linkname = e.target
			if err := tw.WriteHeader(hdr); err != nil {
				return nil, err
			}
		default:
			data := e.data
			if e.src != "" {
				var err error
				if data, err = os.ReadFile(e.src); err != nil {
					return nil, err
				}
			}
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(data))
			if err := tw.WriteHeader(hdr); err != nil {
				return nil, err
			}
			if _, err := tw.Write(data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func splitMode(s string, def int64) (string, int64) {
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return s, def
	}
	m, err := strconv.ParseInt(s[i+1:], 8, 64)
	if err != nil {
		return s, def
	}
	return s[:i], m
}

func fields(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return strings.Fields(s)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "imagetool: "+format+"\n", args...)
	os.Exit(1)
}
