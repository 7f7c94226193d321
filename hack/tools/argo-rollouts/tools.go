//go:build tools

// Package tools pins the Argo Rollouts controller that hack/stack runs: the
// R of the KCR stack. Built by hack/stack/tools.sh, never imported.
package tools

import _ "github.com/argoproj/argo-rollouts/cmd/rollouts-controller"
