# K8sTA — provider-k8sta, function-k8sta and configuration-k8sta.
#
# `make test` is the whole test suite; it builds the real binaries it needs
# (kube-apiserver, etcd, the crossplane CLI, golangci-lint) once from the Go
# module proxy and caches them under $(CACHE).

SHELL := /usr/bin/env bash -o pipefail
CACHE ?= $(or $(K8STA_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/k8sta)
export K8STA_CACHE := $(CACHE)
FUZZEXECS ?= 50000
GO_TEST_FLAGS ?= -timeout 30m

# The version of every package and runtime image, in one place: binaries
# (-X main.version), image labels, image tags and .xpkg names. A tag v* gives
# `git describe` (v0.1.0, v0.1.0-3-gabc1234-dirty); without one, a semver
# prerelease of v0.0.0 naming the commit (v0.0.0-gabc1234[-dirty]), which
# `>=v0.0.0-0` accepts. Override: make xpkg VERSION=v0.1.0
VERSION ?= $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null || \
  echo "v0.0.0-g$$(git rev-parse --short=7 HEAD 2>/dev/null || echo unknown)$$(git diff --quiet HEAD -- 2>/dev/null || echo -dirty)")
VERSION := $(VERSION)

.PHONY: all
all: generate build

.PHONY: generate
generate: ## Generate deepcopy functions, CRDs and managed-resource methods.
	cd apis && go generate -tags generate ./...
	cd internal/argocd && go generate -tags generate ./...

.PHONY: build
build: ## Build the provider and function binaries and the kubectl plugin (bin/kubectl-k8sta: copy it to PATH) into bin/.
	CGO_ENABLED=0 go build -trimpath -o bin/provider ./cmd/provider
	CGO_ENABLED=0 go build -trimpath -o bin/function ./cmd/function
	CGO_ENABLED=0 go build -trimpath -ldflags '-X main.version=$(VERSION)' -o bin/kubectl-k8sta ./cmd/kubectl-k8sta

# Packages and runtime images: no Docker, no registry. The runtime images are
# described by cluster/images/<name>/image.yaml and built by cluster/images/build;
# `crossplane xpkg build` (the CLI from hack/crossplane-cli.sh) embeds them.
OUTPUT ?= _output
IMAGE_GOOS ?= linux
IMAGE_GOARCH ?= amd64
IMAGE_SOURCE ?= https://github.com/k8sta/k8sta
CA_CERTIFICATES ?= /etc/ssl/certs/ca-certificates.crt
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
GIT_COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
IMAGE_LDFLAGS ?= -s -w -X main.version=$(VERSION)
IMAGE_BIN := $(OUTPUT)/bin/$(IMAGE_GOOS)_$(IMAGE_GOARCH)
XPKG_STAGE := $(OUTPUT)/xpkg/stage

.PHONY: images
images: ## Build the provider and function runtime images into _output/images/ (no Docker).
	@mkdir -p $(IMAGE_BIN) $(OUTPUT)/images
	for b in provider function; do \
	  GOOS=$(IMAGE_GOOS) GOARCH=$(IMAGE_GOARCH) CGO_ENABLED=0 \
	    go build -trimpath -ldflags '$(IMAGE_LDFLAGS)' -o $(IMAGE_BIN)/$$b ./cmd/$$b || exit 1; \
	done
	go build -o $(OUTPUT)/bin/image-build ./cluster/images/build
	for b in provider function; do \
	  $(OUTPUT)/bin/image-build image -spec cluster/images/$$b-k8sta/image.yaml -binary $(IMAGE_BIN)/$$b \
	    -version $(VERSION) -source $(IMAGE_SOURCE) -revision '$(GIT_COMMIT)' -created $(SOURCE_DATE_EPOCH) \
	    -ca-certificates $(CA_CERTIFICATES) -o $(OUTPUT)/images/$$b-k8sta.tar || exit 1; \
	done

.PHONY: xpkg
xpkg: images ## Build provider-, function- and configuration-k8sta into _output/xpkg/<name>-$(VERSION).xpkg and check them.
	@# The provider's root is staged: crossplane.yaml + the generated CRDs, and
	@# nothing else (xpkg build walks every subdirectory of --package-root).
	@# --examples-root names a directory that never exists: examples/ holds
	@# render fixtures, not install examples.
	rm -rf $(XPKG_STAGE) && mkdir -p $(XPKG_STAGE)/provider/crds
	cp package/provider/crossplane.yaml $(XPKG_STAGE)/provider/
	cp package/crds/*.yaml $(XPKG_STAGE)/provider/crds/
	xp=$$(hack/crossplane-cli.sh) && noex=$(XPKG_STAGE)/no-examples && \
	$$xp xpkg build --package-root=$(XPKG_STAGE)/provider --examples-root=$$noex \
	  --embed-runtime-image-tarball=$(OUTPUT)/images/provider-k8sta.tar -o $(OUTPUT)/xpkg/provider-k8sta-$(VERSION).xpkg && \
	$$xp xpkg build --package-root=package/function --examples-root=$$noex \
	  --embed-runtime-image-tarball=$(OUTPUT)/images/function-k8sta.tar -o $(OUTPUT)/xpkg/function-k8sta-$(VERSION).xpkg && \
	$$xp xpkg build --package-root=package/configuration --examples-root=$$noex \
	  -o $(OUTPUT)/xpkg/configuration-k8sta-$(VERSION).xpkg
	$(OUTPUT)/bin/image-build check -kind Provider -name provider-k8sta -want-kinds CustomResourceDefinition \
	  -spec cluster/images/provider-k8sta/image.yaml -version $(VERSION) $(OUTPUT)/xpkg/provider-k8sta-$(VERSION).xpkg
	$(OUTPUT)/bin/image-build check -kind Function -name function-k8sta \
	  -spec cluster/images/function-k8sta/image.yaml -version $(VERSION) $(OUTPUT)/xpkg/function-k8sta-$(VERSION).xpkg
	$(OUTPUT)/bin/image-build check -kind Configuration -name configuration-k8sta \
	  -want-kinds CompositeResourceDefinition,Composition $(OUTPUT)/xpkg/configuration-k8sta-$(VERSION).xpkg

.PHONY: lint
lint: ## gofmt, go vet, golangci-lint (.golangci.yml), and a check that generated files are not stale.
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^hack/tools/')); \
	  if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	go vet ./...
	golangci=$$(hack/golangci-lint.sh) && $$golangci run ./...
	$(MAKE) --no-print-directory check-generated

.PHONY: check-generated
check-generated: generate ## Fail when `make generate` changes committed files.
	@if [ -n "$$(git status --porcelain -- apis internal/argocd package/crds)" ]; then \
	  echo "generated files are stale: run 'make generate' and commit the result:"; \
	  git status --porcelain -- apis internal/argocd package/crds; exit 1; fi

.PHONY: tools
tools: ## Build (once) the binaries the tests run.
	@hack/kube-binaries.sh >/dev/null
	@hack/argocd-crds.sh >/dev/null
	@hack/rollouts-crds.sh >/dev/null
	@hack/crossplane-cli.sh >/dev/null
	@hack/golangci-lint.sh >/dev/null

.PHONY: test
test: lint tools ## Unit, integration (real apiserver, git, registry, crossplane render), bounded fuzz and end-to-end tests.
	KUBEBUILDER_ASSETS=$$(hack/kube-binaries.sh) \
	ARGOCD_CRDS=$$(hack/argocd-crds.sh) \
	ROLLOUTS_CRDS=$$(hack/rollouts-crds.sh) \
	CROSSPLANE_CLI=$$(hack/crossplane-cli.sh) \
	K8STA_REQUIRE_INTEGRATION=1 \
	  go test $(GO_TEST_FLAGS) ./...
	FUZZEXECS=$(FUZZEXECS) hack/fuzz.sh
	$(MAKE) --no-print-directory e2e

.PHONY: bench
bench: tools ## Run every benchmark once.
	KUBEBUILDER_ASSETS=$$(hack/kube-binaries.sh) \
	ARGOCD_CRDS=$$(hack/argocd-crds.sh) \
	ROLLOUTS_CRDS=$$(hack/rollouts-crds.sh) \
	  go test -run '^$$' -bench . -benchmem ./...

.PHONY: bench-tickets
bench-tickets: tools ## The provider alone with 1,000 Tickets on a real apiserver: throughput, memory per Ticket, Application-to-Ticket latency.
	KUBEBUILDER_ASSETS=$$(hack/kube-binaries.sh) \
	ARGOCD_CRDS=$$(hack/argocd-crds.sh) \
	ROLLOUTS_CRDS=$$(hack/rollouts-crds.sh) \
	  go test -run '^$$' -bench BenchmarkTicketFleet -benchtime 1x -timeout 60m ./internal/controller/ticket/

STACK_DIR ?= $(OUTPUT)/stack

.PHONY: stack-up stack-down stack-smoke stack-packages
stack-up: ## Start the local stack (kube-apiserver, Argo CD, Crossplane core) in $(STACK_DIR).
	hack/stack/up.sh $(STACK_DIR)
stack-down: ## Stop the local stack.
	hack/stack/down.sh $(STACK_DIR)
stack-smoke: ## Prove Argo CD syncs in the local stack.
	hack/stack/smoke.sh $(STACK_DIR)
stack-packages: build xpkg ## Install K8sTA's packages into the local stack and run the provider and function.
	K8STA_VERSION=$(VERSION) K8STA_REQUIRE_PACKAGES=1 K8STA_PROVIDER_BIN=$(CURDIR)/bin/provider K8STA_FUNCTION_BIN=$(CURDIR)/bin/function hack/stack/install-packages.sh $(STACK_DIR)

.PHONY: e2e
e2e: build xpkg ## End-to-end scenarios on the local stack (real Crossplane, real Argo CD); starts and stops it. E2E_RUN=regexp picks scenarios.
	hack/stack/tools.sh >/dev/null
	K8STA_VERSION=$(VERSION) K8STA_PROVIDER_BIN=$(CURDIR)/bin/provider K8STA_FUNCTION_BIN=$(CURDIR)/bin/function \
	  go test -tags e2e -count=1 -timeout 30m -v $(if $(E2E_RUN),-run '$(E2E_RUN)') ./internal/e2e/

DEMO_DIR ?= $(OUTPUT)/demo

.PHONY: demo demo-down
demo: ## The main job on an embedded default, no cluster needed: a Track promotes a new image (see README); leaves the stack running.
	@echo ">> demo: building the provider, the function and their packages (make build xpkg)" >&2
	@$(MAKE) --no-print-directory build xpkg VERSION=$(VERSION)
	@K8STA_VERSION=$(VERSION) K8STA_PROVIDER_BIN=$(CURDIR)/bin/provider K8STA_FUNCTION_BIN=$(CURDIR)/bin/function \
	  hack/demo/demo.sh $(DEMO_DIR)
demo-down: ## Stop what `make demo` left running.
	hack/stack/down.sh $(DEMO_DIR)

BENCH_FLEET_DIR ?= $(OUTPUT)/bench-fleet
BENCH_FLEET_N ?= 100
BENCH_FLEET_WEBHOOK ?= namespace
BENCH_FLEET_ARGS ?=

.PHONY: bench-fleet bench-fleet-down
bench-fleet: ## N Tracks (BENCH_FLEET_N, default 100) on one monorepo on the local stack: scenarios A/B/C measured, goals PASS/MISS; stops the stack. Not part of `make test`.
	@$(MAKE) --no-print-directory build xpkg VERSION=$(VERSION)
	K8STA_VERSION=$(VERSION) K8STA_PROVIDER_BIN=$(CURDIR)/bin/provider K8STA_FUNCTION_BIN=$(CURDIR)/bin/function \
	  hack/bench-fleet/bench-fleet.sh $(BENCH_FLEET_DIR) -n $(BENCH_FLEET_N) -webhook $(BENCH_FLEET_WEBHOOK) $(BENCH_FLEET_ARGS)
bench-fleet-down: ## Stop what `make bench-fleet` left running (K8STA_BENCH_KEEP=1, or an interrupted run).
	hack/stack/down.sh $(BENCH_FLEET_DIR)

.PHONY: help
help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'
