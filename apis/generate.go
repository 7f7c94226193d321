//go:build generate

// Generates deepcopy functions, CRDs and the managed-resource method sets.
//go:generate go run -modfile ../hack/tools/gen/go.mod sigs.k8s.io/controller-tools/cmd/controller-gen object:headerFile=../hack/boilerplate.go.txt paths=./... crd:crdVersions=v1,allowDangerousTypes=false output:artifacts:config=../package/crds
//go:generate go run -modfile ../hack/tools/gen/go.mod github.com/crossplane/crossplane-tools/cmd/angryjet generate-methodsets --header-file=../hack/boilerplate.go.txt ./...

package apis
