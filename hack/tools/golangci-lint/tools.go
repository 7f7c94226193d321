//go:build tools

// Package tools pins golangci-lint, which `make lint` runs with the
// repository's .golangci.yml. Built by hack/golangci-lint.sh, never imported.
package tools

import _ "github.com/golangci/golangci-lint/v2/cmd/golangci-lint"
