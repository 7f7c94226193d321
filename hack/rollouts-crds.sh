#!/usr/bin/env bash
# Prints the manifests/crds directory of the Argo Rollouts module (hack/module-crds.sh).
exec "$(dirname "$0")/module-crds.sh" "github.com/argoproj/argo-rollouts@${ROLLOUTS_VERSION:-v1.10.1}" rollout-crd.yaml
