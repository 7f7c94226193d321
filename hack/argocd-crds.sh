#!/usr/bin/env bash
# Prints the manifests/crds directory of the Argo CD module (hack/module-crds.sh).
exec "$(dirname "$0")/module-crds.sh" "github.com/argoproj/argo-cd/v3@${ARGOCD_VERSION:-v3.2.11}" application-crd.yaml
