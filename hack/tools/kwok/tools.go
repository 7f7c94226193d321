//go:build tools

// Package tools pins kwok, which runs the local stack's fake node: pods
// scheduled there become Running and Ready without a kubelet. Built by
// hack/stack/tools.sh, never imported.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
