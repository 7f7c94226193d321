//go:build deps

// Package deps keeps the project's direct dependencies in go.mod while the
// packages that use them are written. Remove once they are all imported.
package deps

import (
	_ "github.com/Masterminds/semver/v3"
	_ "github.com/alecthomas/kong"
	_ "github.com/crossplane/function-sdk-go"
	_ "github.com/go-git/go-git/v5"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/google/go-containerregistry/pkg/registry"
	_ "github.com/google/go-containerregistry/pkg/v1/remote"
	_ "sigs.k8s.io/controller-runtime/pkg/envtest"
	_ "sigs.k8s.io/kustomize/api/krusty"
)
