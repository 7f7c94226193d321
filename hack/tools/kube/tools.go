//go:build tools

// Package tools pins the Kubernetes and etcd binaries that envtest and the
// end-to-end stack run: kube-apiserver, kube-controller-manager,
// kube-scheduler, kubectl, etcd.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
