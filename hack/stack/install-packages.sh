#!/usr/bin/env bash
# Installs configuration-k8sta (and through its dependencies provider-k8sta and
# function-k8sta) into the stack that hack/stack/up.sh started in STATE_DIR, and
# plays the package runtime for them (Crossplane runs them with the External
# runtime: nobody else starts them):
#
#  1. a local OCI registry: `crane registry serve --address 127.0.0.1:PORT --disk DIR`;
#  2. pushes _output/xpkg/{provider,function,configuration}-k8sta-VERSION.xpkg
#     (built by `make xpkg`) to 127.0.0.1:PORT/k8sta/<name>:VERSION;
#  3. an ImageConfig rewriting ghcr.io/k8sta/ to that registry, so the
#     configuration's dependencies (ghcr.io/k8sta/provider-k8sta, .../function-k8sta)
#     resolve locally, then the Configuration object;
#  4. for each ProviderRevision/FunctionRevision: a TLS server Secret signed by
#     crossplane-root-ca (SAN localhost), status.tlsServerSecretName, for a
#     FunctionRevision status.endpoint dns:///localhost:PORT, and RuntimeHealthy=True;
#  5. runs the function and the provider as local processes (pids in STATE_DIR/pids,
#     stopped by down.sh), and waits for every package to be Healthy.
#
#   hack/stack/install-packages.sh STATE_DIR
#
# Exit 0 and a clear message, without doing anything, when there are no .xpkg
# files (K8STA_XPKG_DIR, default _output/xpkg): the caller decides (exit code 3
# when K8STA_REQUIRE_PACKAGES=1).
#
# Knobs: K8STA_XPKG_DIR, K8STA_VERSION (default: the newest configuration-k8sta-*.xpkg),
# K8STA_PROVIDER_BIN / K8STA_FUNCTION_BIN (default bin/provider, bin/function,
# built into STATE_DIR/packages/bin when absent), K8STA_PROVIDER_ARGS (extra
# flags), K8STA_STACK_TIMEOUT (seconds per wait, default 180).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[ $# -ge 1 ] && [ -n "$1" ] || die "usage: $(basename "$0") STATE_DIR"
[ -f "$1/env" ] || die "no stack in $1: run hack/stack/up.sh $1 first"
STATE=$(cd "$1" && pwd)
# shellcheck disable=SC1091
source "$STATE/env"
[ "${K8STA_STACK_READY:-}" = true ] || die "the stack in $STATE is not up (K8STA_STACK_READY=${K8STA_STACK_READY:-}): run hack/stack/up.sh $STATE"
timeout=${K8STA_STACK_TIMEOUT:-180}
started_at=$SECONDS
kubectl=$KUBE_BIN_DIR/kubectl
k() { "$kubectl" "$@"; }

exec 8>"$STATE/.lock"
flock -w 60 8 || die "another up.sh, down.sh or install-packages.sh holds $STATE/.lock"

xpkg_dir=${K8STA_XPKG_DIR:-$stack_root/_output/xpkg}
pk=$STATE/packages
mkdir -p "$pk"

# --- which packages ------------------------------------------------------------------
version=${K8STA_VERSION:-}
if [ -z "$version" ]; then
  newest=$(ls -t "$xpkg_dir"/configuration-k8sta-*.xpkg 2>/dev/null | head -n1 || true)
  if [ -n "$newest" ]; then
    version=$(basename "$newest" .xpkg); version=${version#configuration-k8sta-}
  fi
fi
missing=()
for n in provider-k8sta function-k8sta configuration-k8sta; do
  [ -n "$version" ] && [ -f "$xpkg_dir/$n-$version.xpkg" ] || missing+=("$n-${version:-VERSION}.xpkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "no packages to install: ${missing[*]} not in $xpkg_dir (run 'make xpkg' first); skipping"
  [ "${K8STA_REQUIRE_PACKAGES:-}" = 1 ] && exit 3
  exit 0
fi
say "installing K8sTA $version from $xpkg_dir"

# --- binaries ---------------------------------------------------------------------------
bin_for() { # NAME: path of bin/NAME, built into STATE/packages/bin when absent
  local name=$1 var
  var=K8STA_$(echo "$name" | tr a-z A-Z)_BIN
  if [ -n "${!var:-}" ]; then echo "${!var}"; return; fi
  if [ -x "$stack_root/bin/$name" ]; then echo "$stack_root/bin/$name"; return; fi
  say "building $name into $pk/bin (no bin/$name: 'make build' would put it there)"
  (cd "$stack_root" && CGO_ENABLED=0 go build -trimpath -o "$pk/bin/$name" "./cmd/$name") >&2
  echo "$pk/bin/$name"
}
provider_bin=$(bin_for provider)
function_bin=$(bin_for function)

# --- registry ------------------------------------------------------------------------------
if pid_alive registry && [ -f "$pk/env" ]; then
  REGISTRY_PORT=$(sed -n 's/^export REGISTRY_PORT=//p' "$pk/env")
  say "registry already runs on 127.0.0.1:$REGISTRY_PORT"
else
  stop registry
  REGISTRY_PORT=$(free_port)
  mkdir -p "$pk/registry"
  start registry "$CRANE_BIN" registry serve --address "127.0.0.1:$REGISTRY_PORT" --disk "$pk/registry"
  wait_for registry "$timeout" "http://127.0.0.1:$REGISTRY_PORT/v2/" http_ok "http://127.0.0.1:$REGISTRY_PORT/v2/"
fi
registry=127.0.0.1:$REGISTRY_PORT
for n in provider-k8sta function-k8sta configuration-k8sta; do
  say "pushing $n-$version.xpkg to $registry/k8sta/$n:$version"
  "$CRANE_BIN" push --insecure "$xpkg_dir/$n-$version.xpkg" "$registry/k8sta/$n:$version" >>"$STATE/logs/registry-push.log" 2>&1 ||
    { tail -n 5 "$STATE/logs/registry-push.log" >&2; die "cannot push $n (log: $STATE/logs/registry-push.log)"; }
done

FUNCTION_PORT=${FUNCTION_PORT:-}
if [ -f "$pk/env" ]; then FUNCTION_PORT=$(sed -n 's/^export FUNCTION_PORT=//p' "$pk/env"); fi
[ -n "$FUNCTION_PORT" ] || FUNCTION_PORT=$(free_port)
FUNCTION_METRICS_PORT=$(free_port)
PROVIDER_WEBHOOK_PORT=${PROVIDER_WEBHOOK_PORT:-}
if [ -f "$pk/env" ]; then PROVIDER_WEBHOOK_PORT=$(sed -n 's/^export PROVIDER_WEBHOOK_PORT=//p' "$pk/env"); fi
[ -n "$PROVIDER_WEBHOOK_PORT" ] || PROVIDER_WEBHOOK_PORT=$(free_port)
PROVIDER_METRICS_PORT=${PROVIDER_METRICS_PORT:-}
if [ -f "$pk/env" ]; then PROVIDER_METRICS_PORT=$(sed -n 's/^export PROVIDER_METRICS_PORT=//p' "$pk/env"); fi
[ -n "$PROVIDER_METRICS_PORT" ] || PROVIDER_METRICS_PORT=$(free_port)
cat >"$pk/env" <<EOF
# Written by hack/stack/install-packages.sh; source it after STATE_DIR/env.
export K8STA_VERSION=$version
export REGISTRY_PORT=$REGISTRY_PORT
export REGISTRY=$registry
export FUNCTION_PORT=$FUNCTION_PORT
export PROVIDER_WEBHOOK_PORT=$PROVIDER_WEBHOOK_PORT
export PROVIDER_WEBHOOK_URL=http://127.0.0.1:$PROVIDER_WEBHOOK_PORT
export PROVIDER_METRICS_PORT=$PROVIDER_METRICS_PORT
export K8STA_PROVIDER_CACHE_DIR=$pk/provider-cache
EOF

# --- ImageConfig + Configuration -------------------------------------------------------------
say "applying ImageConfig k8sta-local (ghcr.io/k8sta/ -> $registry/k8sta/) and Configuration configuration-k8sta"
k apply -f - >/dev/null <<EOF
apiVersion: pkg.crossplane.io/v1beta1
kind: ImageConfig
metadata:
  name: k8sta-local
spec:
  matchImages:
  - type: Prefix
    prefix: ghcr.io/k8sta/
  rewriteImage:
    prefix: $registry/k8sta/
---
apiVersion: pkg.crossplane.io/v1
kind: Configuration
metadata:
  name: configuration-k8sta
spec:
  package: $registry/k8sta/configuration-k8sta:$version
EOF

# --- runtime: TLS for the function, status on the revisions --------------------------------------
tls=$pk/tls
mkdir -p "$tls"
if [ ! -s "$tls/tls.crt" ]; then
  say "issuing the runtime server certificate (SAN localhost, 127.0.0.1) from crossplane-root-ca"
  for key in tls.crt tls.key; do
    k -n crossplane-system get secret crossplane-root-ca -o "go-template={{index .data \"$key\"}}" | base64 -d >"$tls/root-$key"
  done
  cp "$tls/root-tls.crt" "$tls/ca.crt"
  (
    cd "$tls"
    exec 2>openssl.log
    openssl req -newkey rsa:2048 -nodes -keyout tls.key -out server.csr -subj "/CN=localhost"
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA root-tls.crt -CAkey root-tls.key -CAcreateserial -days 3650 -extfile server.ext -out tls.crt
    rm -f server.csr server.ext root-tls.key
  ) || die "openssl failed (log: $tls/openssl.log)"
fi
k -n crossplane-system create secret generic k8sta-runtime-tls-server \
  --from-file=tls.crt="$tls/tls.crt" --from-file=tls.key="$tls/tls.key" --from-file=ca.crt="$tls/ca.crt" \
  --dry-run=client -o yaml | k apply -f - >/dev/null

# fake_runtime KIND: set on every Active revision of KIND what a package runtime would.
fake_runtime() {
  local kind=$1 name extra now
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  extra=""
  [ "$kind" = functionrevisions.pkg.crossplane.io ] && extra=",\"endpoint\":\"dns:///localhost:$FUNCTION_PORT\""
  for name in $(k get "$kind" -o jsonpath='{range .items[?(@.spec.desiredState=="Active")]}{.metadata.name}{"\n"}{end}'); do
    local obj conds
    obj=$(k get "$kind" "$name" -o json)
    if jq -e --arg ep "dns:///localhost:$FUNCTION_PORT" --arg kind "$kind" '
        (.status.tlsServerSecretName == "k8sta-runtime-tls-server") and
        ($kind != "functionrevisions.pkg.crossplane.io" or .status.endpoint == $ep) and
        ([.status.conditions[]? | select(.type=="RuntimeHealthy" and .status=="True")] | length > 0)' <<<"$obj" >/dev/null; then
      continue
    fi
    conds=$(jq -c --arg now "$now" '[.status.conditions[]? | select(.type != "RuntimeHealthy")] +
      [{type:"RuntimeHealthy",status:"True",reason:"HealthyPackageRevision",lastTransitionTime:$now}]' <<<"$obj")
    say "runtime: $kind/$name: tlsServerSecretName, ${extra:+endpoint dns:///localhost:$FUNCTION_PORT, }RuntimeHealthy=True"
    k patch "$kind" "$name" --subresource=status --type=merge \
      -p "{\"status\":{\"tlsServerSecretName\":\"k8sta-runtime-tls-server\"$extra,\"conditions\":$conds}}" >/dev/null
  done
}

# --- the function -------------------------------------------------------------------------------
if pid_alive function; then
  say "function already runs on 127.0.0.1:$FUNCTION_PORT"
else
  stop function
  start function env TLS_SERVER_CERTS_DIR="$tls" "$function_bin" \
    --tls-certs-dir "$tls" --address "127.0.0.1:$FUNCTION_PORT" --metrics-address "127.0.0.1:$FUNCTION_METRICS_PORT"
  fn_listening() { ss -Htln "sport = :$FUNCTION_PORT" | grep -q .; }
  wait_for function "$timeout" "gRPC listener on 127.0.0.1:$FUNCTION_PORT" fn_listening
fi

# --- wait for the package manager, faking the runtime as revisions appear -------------------------
say "waiting for the provider's CRDs (Crossplane installs them from the package), playing the runtime meanwhile"
deadline=$((SECONDS + timeout))
crds_ready() {
  k wait --for=condition=Established --timeout=2s crd/tickets.provider.k8sta.io crd/subscriptions.provider.k8sta.io
}
until crds_ready >/dev/null 2>&1; do
  fake_runtime functionrevisions.pkg.crossplane.io
  fake_runtime providerrevisions.pkg.crossplane.io
  if [ $SECONDS -ge $deadline ]; then
    k get configurations.pkg.crossplane.io,providers.pkg.crossplane.io,functions.pkg.crossplane.io,providerrevisions,functionrevisions -o wide >&2 || true
    log_tail crossplane
    die "the provider's CRDs are not Established after ${timeout}s (Crossplane log: $STATE/logs/crossplane.log)"
  fi
  sleep 1
done

# --- the provider ----------------------------------------------------------------------------------
if pid_alive provider; then
  say "provider already runs"
else
  stop provider
  mkdir -p "$pk/provider-cache"
  provider_args=(--metrics-address "127.0.0.1:$PROVIDER_METRICS_PORT" --health-address 127.0.0.1:0 --cache-dir "$pk/provider-cache")
  # The webhook receiver (:8090 on every interface by default) on a free
  # loopback port.
  provider_args+=(--webhook-address "127.0.0.1:$PROVIDER_WEBHOOK_PORT")
  # The demo's and the e2e tests' git servers speak plain http on 127.0.0.1;
  # the provider reaches plain http only on the hosts it is told.
  provider_args+=(--insecure-git-host 127.0.0.1)
  # shellcheck disable=SC2086
  provider_cmd=(env KUBECONFIG="$KUBECONFIG" "$provider_bin" "${provider_args[@]}" ${K8STA_PROVIDER_ARGS:-})
  # provider.sh restarts it with exactly this command.
  printf '%s\0' "${provider_cmd[@]}" >"$pk/provider.argv"
  start provider "${provider_cmd[@]}"
fi

# --- everything Healthy ---------------------------------------------------------------------------
pkgs_healthy() {
  local out
  out=$(k get configurations.pkg.crossplane.io,providers.pkg.crossplane.io,functions.pkg.crossplane.io \
    -o jsonpath='{range .items[*]}{.kind}/{.metadata.name} {.status.conditions[?(@.type=="Installed")].status} {.status.conditions[?(@.type=="Healthy")].status}{"\n"}{end}')
  [ "$(grep -c . <<<"$out")" -ge 3 ] && ! grep -qv ' True True$' <<<"$out"
}
say "waiting for the Configuration, Provider and Function to be Installed and Healthy (up to ${timeout}s)"
deadline=$((SECONDS + timeout))
until pkgs_healthy; do
  fake_runtime functionrevisions.pkg.crossplane.io
  fake_runtime providerrevisions.pkg.crossplane.io
  pid_alive provider || { log_tail provider; die "the provider exited (log: $STATE/logs/provider.log)"; }
  pid_alive function || { log_tail function; die "the function exited (log: $STATE/logs/function.log)"; }
  if [ $SECONDS -ge $deadline ]; then
    k get configurations.pkg.crossplane.io,providers.pkg.crossplane.io,functions.pkg.crossplane.io,providerrevisions,functionrevisions -o wide >&2 || true
    log_tail crossplane
    die "packages not Healthy after ${timeout}s (Crossplane log: $STATE/logs/crossplane.log)"
  fi
  sleep 1
done
k wait --for=condition=Established --timeout="${timeout}s" crd/tracks.k8sta.io >/dev/null 2>&1 ||
  say "warning: crd/tracks.k8sta.io not Established (is the Track XRD in the configuration?)"
k get configurations.pkg.crossplane.io,providers.pkg.crossplane.io,functions.pkg.crossplane.io >&2
say "K8sTA $version installed in $((SECONDS - started_at))s: source $STATE/env and $pk/env"
