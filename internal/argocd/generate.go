//go:build generate

// Generates deepcopy functions only: K8sTA never ships Argo CD's CRD.
//go:generate go run -modfile ../../hack/tools/gen/go.mod sigs.k8s.io/controller-tools/cmd/controller-gen object:headerFile=../../hack/boilerplate.go.txt paths=./...

package argocd
