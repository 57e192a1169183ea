// Wrapper module for the image tool that packs static binaries and files into
// container images (docker-archive tarballs that `ctr images import` reads),
// so the single-node cluster needs no registry and no Docker engine.
module github.com/tektonstep/tekton-step-source/hack/tools/images

go 1.25.0

require github.com/google/go-containerregistry v0.20.6

require (
	github.com/containerd/stargz-snapshotter/estargz v0.16.3 // indirect
	github.com/klauspost/compress v1.18.0 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/opencontainers/image-spec v1.1.1 // indirect
	github.com/vbatts/tar-split v0.12.1 // indirect
	golang.org/x/sync v0.15.0 // indirect
)
