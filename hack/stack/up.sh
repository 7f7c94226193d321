#!/usr/bin/env bash
# Starts the local end-to-end stack on 127.0.0.1, no Docker, no cluster:
#
#   etcd -> kube-apiserver -> kube-controller-manager -> kube-scheduler ->
#   kwok (one fake node, k8sta-node: pods scheduled there become Running and
#   Ready without a kubelet) -> redis-server ->
#   Argo CD (CRDs, config, default AppProject, repo-server, application-controller) ->
#   Argo Rollouts (CRDs, controller) -> the quality endpoint (hack/stack/quality:
#   the metric the analyses query; a scenario sets its answer per station) ->
#   Crossplane core (core init, core start, External package runtime)
#
#   hack/stack/up.sh STATE_DIR        # then: source STATE_DIR/env
#   hack/stack/down.sh STATE_DIR
#
# Pids go to STATE_DIR/pids, logs to STATE_DIR/logs, the admin kubeconfig to
# STATE_DIR/kubeconfig, ports and tool paths to STATE_DIR/env. Idempotent: when
# the stack in STATE_DIR already runs this prints so and exits 0; a partial or
# dead stack is stopped and started afresh. On failure everything started is
# stopped again (K8STA_STACK_KEEP_ON_FAILURE=1 keeps it for a post-mortem).
#
# Knobs: K8STA_STACK_TIMEOUT (seconds per readiness wait, default 120),
# K8STA_CROSSPLANE_ARGS (extra flags for `crossplane core start`, e.g.
# --circuit-breaker-burst=1000 to take Crossplane's XR circuit breaker out of
# a measurement).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

STATE=$(stack_state_dir "${1:-}")
timeout=${K8STA_STACK_TIMEOUT:-120}
started_at=$SECONDS

marker=$STATE/.k8sta-stack
if [ -n "$(ls -A "$STATE")" ] && [ ! -f "$marker" ]; then
  die "$STATE is not empty and was not made by hack/stack/up.sh: refusing to use it"
fi
touch "$marker"

exec 8>"$STATE/.lock"
flock -n 8 || die "another up.sh or down.sh is running on $STATE"

# --- already up? ----------------------------------------------------------------------
pieces=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok redis argocd-repo-server argocd-application-controller rollouts-controller quality crossplane)
if [ -f "$STATE/env" ] && [ -f "$STATE/pids/order" ]; then
  all=1
  for p in "${pieces[@]}"; do pid_alive "$p" || { all=0; break; }; done
  if [ $all = 1 ] && KUBECONFIG=$STATE/kubeconfig "$(sed -n 's/^export KUBE_BIN_DIR=//p' "$STATE/env")/kubectl" get --raw /readyz >/dev/null 2>&1; then
    say "the stack in $STATE is already up: source $STATE/env"
    exit 0
  fi
  say "the stack in $STATE is partial or stale: stopping it and starting afresh"
fi
flock -u 8
"$stack_root/hack/stack/down.sh" "$STATE"
flock -n 8 || die "another up.sh or down.sh is running on $STATE"
rm -rf "$STATE"/{etcd,pki,logs,pids,argocd,crossplane,redis,kwok,bin,kubeconfig,env,packages}
mkdir -p "$STATE"/{logs,pids,pki}

on_exit() {
  local rc=$?
  if [ $rc -ne 0 ]; then
    if [ "${K8STA_STACK_KEEP_ON_FAILURE:-}" = 1 ]; then
      say "up.sh failed (exit $rc); K8STA_STACK_KEEP_ON_FAILURE=1: leaving what started running; logs in $STATE/logs"
    else
      say "up.sh failed (exit $rc): stopping what it started; logs stay in $STATE/logs"
      flock -u 8 || true
      "$stack_root/hack/stack/down.sh" "$STATE" || true
    fi
  fi
}
trap on_exit EXIT

# --- tools ------------------------------------------------------------------------------
say "building or finding the tools (hack/stack/tools.sh)"
eval "$("$stack_root/hack/stack/tools.sh")"
kubectl=$KUBE_BIN_DIR/kubectl
k() { KUBECONFIG=$STATE/kubeconfig "$kubectl" "$@"; }

# --- ports -------------------------------------------------------------------------------
ETCD_PORT=$(free_port)
ETCD_PEER_PORT=$(free_port)
APISERVER_PORT=$(free_port)
KCM_PORT=$(free_port)
SCHEDULER_PORT=$(free_port)
KWOK_PORT=$(free_port)
KWOK_NODE_PORT=$(free_port)
ROLLOUTS_METRICS_PORT=$(free_port)
ROLLOUTS_HEALTHZ_PORT=$(free_port)
QUALITY_PORT=$(free_port)
REDIS_PORT=$(free_port)
ARGOCD_REPO_SERVER_PORT=$(free_port)
ARGOCD_REPO_SERVER_METRICS_PORT=$(free_port)
ARGOCD_CONTROLLER_METRICS_PORT=$(free_port)
CROSSPLANE_METRICS_PORT=$(free_port)
CROSSPLANE_HEALTH_PORT=$(free_port)
CROSSPLANE_WEBHOOK_PORT=$(free_port)

# --- PKI: one CA for serving, client and service-account certs ---------------------------
say "generating the CA, apiserver serving cert, admin client cert and service-account keys ($STATE/pki)"
pki=$STATE/pki
(
  cd "$pki"
  exec 2>openssl.log
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 -subj "/CN=k8sta-stack-ca"
  openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr -subj "/CN=kube-apiserver"
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\nextendedKeyUsage=serverAuth\n' >apiserver.ext
  openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile apiserver.ext -out apiserver.crt
  openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=k8sta-stack-admin"
  printf 'extendedKeyUsage=clientAuth\n' >admin.ext
  openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile admin.ext -out admin.crt
  openssl genrsa -out sa.key 2048
  openssl rsa -in sa.key -pubout -out sa.pub
  rm -f ./*.csr ./*.ext
) || die "openssl failed (log: $pki/openssl.log)"

cat >"$STATE/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: k8sta-stack
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 <"$pki/ca.crt")
users:
- name: admin
  user:
    client-certificate-data: $(base64 -w0 <"$pki/admin.crt")
    client-key-data: $(base64 -w0 <"$pki/admin.key")
contexts:
- name: k8sta-stack
  context: {cluster: k8sta-stack, user: admin}
current-context: k8sta-stack
EOF
chmod 600 "$STATE/kubeconfig"

# STATE/env is written early (and completed at the end) so down.sh and a
# post-mortem find the ports even when start-up fails half-way.
write_env() {
  cat >"$STATE/env" <<EOF
# Written by hack/stack/up.sh; source it.
export K8STA_STACK_DIR=$STATE
export KUBECONFIG=$STATE/kubeconfig
export KUBE_BIN_DIR=$KUBE_BIN_DIR
export ARGOCD_BIN=$ARGOCD_BIN
export ARGOCD_MODULE_DIR=$ARGOCD_MODULE_DIR
export CROSSPLANE_CORE_BIN=$CROSSPLANE_CORE_BIN
export CROSSPLANE_MODULE_DIR=$CROSSPLANE_MODULE_DIR
export CROSSPLANE_CLI=$CROSSPLANE_CLI
export CRANE_BIN=$CRANE_BIN
export ETCD_PORT=$ETCD_PORT
export APISERVER_PORT=$APISERVER_PORT
export APISERVER_URL=https://127.0.0.1:$APISERVER_PORT
export KCM_PORT=$KCM_PORT
export SCHEDULER_PORT=$SCHEDULER_PORT
export KWOK_PORT=$KWOK_PORT
export ROLLOUTS_BIN=$ROLLOUTS_BIN
export ROLLOUTS_MODULE_DIR=$ROLLOUTS_MODULE_DIR
export ROLLOUTS_METRICS_PORT=$ROLLOUTS_METRICS_PORT
export ROLLOUTS_HEALTHZ_PORT=$ROLLOUTS_HEALTHZ_PORT
export QUALITY_PORT=$QUALITY_PORT
export QUALITY_URL=http://127.0.0.1:$QUALITY_PORT
export REDIS_PORT=$REDIS_PORT
export ARGOCD_REPO_SERVER_PORT=$ARGOCD_REPO_SERVER_PORT
export ARGOCD_REPO_SERVER_METRICS_PORT=$ARGOCD_REPO_SERVER_METRICS_PORT
export ARGOCD_CONTROLLER_METRICS_PORT=$ARGOCD_CONTROLLER_METRICS_PORT
export CROSSPLANE_METRICS_PORT=$CROSSPLANE_METRICS_PORT
export CROSSPLANE_HEALTH_PORT=$CROSSPLANE_HEALTH_PORT
export CROSSPLANE_TLS_CLIENT_CERTS_DIR=$STATE/crossplane/tls-client
export K8STA_STACK_READY=${1:-false}
EOF
}
write_env false

# --- etcd --------------------------------------------------------------------------------
mkdir -p "$STATE/etcd"
start etcd "$KUBE_BIN_DIR/etcd" \
  --name=k8sta-stack \
  --data-dir="$STATE/etcd" \
  --listen-client-urls="http://127.0.0.1:$ETCD_PORT" \
  --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster="k8sta-stack=http://127.0.0.1:$ETCD_PEER_PORT" \
  --unsafe-no-fsync=true \
  --log-level=warn
wait_for etcd "$timeout" "http://127.0.0.1:$ETCD_PORT/health" \
  bash -c "curl -fsS -m 2 http://127.0.0.1:$ETCD_PORT/health | grep -q '\"health\":\"true\"'"

# --- kube-apiserver -------------------------------------------------------------------------
start kube-apiserver "$KUBE_BIN_DIR/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --bind-address=127.0.0.1 \
  --advertise-address=127.0.0.1 \
  --secure-port="$APISERVER_PORT" \
  --tls-cert-file="$pki/apiserver.crt" \
  --tls-private-key-file="$pki/apiserver.key" \
  --client-ca-file="$pki/ca.crt" \
  --service-account-key-file="$pki/sa.pub" \
  --service-account-signing-key-file="$pki/sa.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --api-audiences=https://kubernetes.default.svc.cluster.local \
  --authorization-mode=RBAC \
  --endpoint-reconciler-type=none \
  --service-cluster-ip-range=10.0.0.0/24 \
  --allow-privileged=true \
  --cert-dir="$pki/apiserver-cert-dir"
wait_for kube-apiserver "$timeout" "https://127.0.0.1:$APISERVER_PORT/readyz" k get --raw /readyz

# --- kube-controller-manager -----------------------------------------------------------------
start kube-controller-manager "$KUBE_BIN_DIR/kube-controller-manager" \
  --kubeconfig="$STATE/kubeconfig" \
  --authentication-kubeconfig="$STATE/kubeconfig" \
  --authorization-kubeconfig="$STATE/kubeconfig" \
  --controllers='*' \
  --use-service-account-credentials=false \
  --leader-elect=false \
  --service-account-private-key-file="$pki/sa.key" \
  --root-ca-file="$pki/ca.crt" \
  --cluster-signing-cert-file="$pki/ca.crt" \
  --cluster-signing-key-file="$pki/ca.key" \
  --bind-address=127.0.0.1 \
  --secure-port="$KCM_PORT" \
  --cert-dir="$pki/kcm-cert-dir"
wait_for kube-controller-manager "$timeout" "https://127.0.0.1:$KCM_PORT/healthz" \
  http_ok -k "https://127.0.0.1:$KCM_PORT/healthz"

# --- kube-scheduler --------------------------------------------------------------------------
start kube-scheduler "$KUBE_BIN_DIR/kube-scheduler" \
  --kubeconfig="$STATE/kubeconfig" \
  --authentication-kubeconfig="$STATE/kubeconfig" \
  --authorization-kubeconfig="$STATE/kubeconfig" \
  --leader-elect=false \
  --bind-address=127.0.0.1 \
  --secure-port="$SCHEDULER_PORT" \
  --cert-dir="$pki/scheduler-cert-dir"
wait_for kube-scheduler "$timeout" "https://127.0.0.1:$SCHEDULER_PORT/healthz" \
  http_ok -k "https://127.0.0.1:$SCHEDULER_PORT/healthz"

# --- kwok and its node ------------------------------------------------------------------------
# kwok plays the kubelet of the nodes annotated kwok.x-k8s.io/node=fake, with
# the kwok module's own stages.
mkdir -p "$STATE/kwok"
start kwok "$KWOK_BIN" \
  --kubeconfig="$STATE/kubeconfig" \
  --config="$KWOK_STAGES" \
  --manage-all-nodes=false \
  --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --node-ip=127.0.0.1 \
  --node-port="$KWOK_NODE_PORT" \
  --server-address="127.0.0.1:$KWOK_PORT" \
  --cidr=10.244.0.1/24 \
  --node-lease-duration-seconds=40
cat >"$STATE/kwok/node.yaml" <<NODE
apiVersion: v1
kind: Node
metadata:
  name: k8sta-node
  annotations: {kwok.x-k8s.io/node: fake}
  labels: {kubernetes.io/hostname: k8sta-node, kubernetes.io/os: linux, kubernetes.io/arch: amd64, type: kwok}
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "1000"}
  capacity: {cpu: "32", memory: 256Gi, pods: "1000"}
NODE
k apply -f "$STATE/kwok/node.yaml" >/dev/null
wait_for kwok "$timeout" "node k8sta-node Ready" \
  k wait --for=condition=Ready --timeout=5s node/k8sta-node

# --- redis ----------------------------------------------------------------------------------
mkdir -p "$STATE/redis"
start redis "$REDIS_SERVER" --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$STATE/redis" \
  --save '' --appendonly no --daemonize no --protected-mode yes --loglevel warning
redis_ping() { (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT" && printf 'PING\r\n' >&3 && read -r -t 2 line <&3 && [[ $line == +PONG* ]]); }
wait_for redis "$timeout" "PING on 127.0.0.1:$REDIS_PORT" redis_ping

# --- Argo CD: CRDs, namespace, config, default AppProject ---------------------------------------
say "applying Argo CD CRDs (server-side) from $ARGOCD_MODULE_DIR/manifests/crds"
crd_files=()
for f in "$ARGOCD_MODULE_DIR"/manifests/crds/*-crd.yaml; do crd_files+=(-f "$f"); done
k apply --server-side --force-conflicts "${crd_files[@]}" >"$STATE/logs/argocd-crds.log" 2>&1 ||
  { cat "$STATE/logs/argocd-crds.log" >&2; die "cannot apply the Argo CD CRDs (log: $STATE/logs/argocd-crds.log)"; }
wait_for kube-apiserver "$timeout" "Argo CD CRDs Established" \
  k wait --for=condition=Established --timeout=5s \
  crd/applications.argoproj.io crd/applicationsets.argoproj.io crd/appprojects.argoproj.io

say "creating namespace argocd, the stock manifests/base/config and the default AppProject"
k create namespace argocd --dry-run=client -o yaml | k apply -f - >/dev/null
config_files=()
for f in "$ARGOCD_MODULE_DIR"/manifests/base/config/*.yaml; do
  [ "$(basename "$f")" = kustomization.yaml ] || config_files+=(-f "$f")
done
k apply -n argocd "${config_files[@]}" >/dev/null
k -n argocd patch secret argocd-secret --type=merge \
  -p "{\"stringData\":{\"server.secretkey\":\"$(openssl rand -base64 32)\"}}" >/dev/null
k apply -f - >/dev/null <<'EOF'
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: default
  namespace: argocd
spec:
  sourceRepos: ['*']
  destinations: [{server: '*', namespace: '*'}]
  clusterResourceWhitelist: [{group: '*', kind: '*'}]
EOF

# --- Argo CD repo-server -----------------------------------------------------------------------
argocd_dir=$(dirname "$ARGOCD_BIN")
mkdir -p "$STATE/argocd/repo-server/tmp" "$STATE/argocd/repo-server/home" "$STATE/argocd/controller/home"
# The repo-server's git askpass socket defaults to the fixed /tmp/reposerver-ask-pass.sock
# (one stack per machine); ARGOCD_ASK_PASS_SOCK moves it into the state dir, so
# stacks do not collide. A unix socket path must stay under 108 bytes.
askpass_sock=$STATE/argocd/askpass.sock
if [ ${#askpass_sock} -ge 100 ]; then
  askpass_sock=/tmp/k8sta-askpass-$(echo "$STATE" | sha256sum | cut -c1-12).sock
fi
start argocd-repo-server env \
  ARGOCD_BINARY_NAME=argocd-repo-server \
  ARGOCD_FAKE_IN_CLUSTER=true \
  ARGOCD_GPG_ENABLED=false \
  ARGOCD_ASK_PASS_SOCK="$askpass_sock" \
  TMPDIR="$STATE/argocd/repo-server/tmp" \
  HOME="$STATE/argocd/repo-server/home" \
  KUBECONFIG="$STATE/kubeconfig" \
  PATH="$argocd_dir:$PATH" \
  "$ARGOCD_BIN" \
  --address 127.0.0.1 --port "$ARGOCD_REPO_SERVER_PORT" \
  --metrics-address 127.0.0.1 --metrics-port "$ARGOCD_REPO_SERVER_METRICS_PORT" \
  --disable-tls \
  --redis "127.0.0.1:$REDIS_PORT"
wait_for argocd-repo-server "$timeout" "http://127.0.0.1:$ARGOCD_REPO_SERVER_METRICS_PORT/healthz" \
  http_ok "http://127.0.0.1:$ARGOCD_REPO_SERVER_METRICS_PORT/healthz"

# --- Argo CD application-controller ----------------------------------------------------------------
# Its metrics server binds all interfaces (no address flag): a free port is the best we can do.
start argocd-application-controller env \
  ARGOCD_BINARY_NAME=argocd-application-controller \
  ARGOCD_FAKE_IN_CLUSTER=true \
  HOME="$STATE/argocd/controller/home" \
  KUBECONFIG="$STATE/kubeconfig" \
  "$ARGOCD_BIN" \
  --kubeconfig "$STATE/kubeconfig" \
  --namespace argocd \
  --redis "127.0.0.1:$REDIS_PORT" \
  --repo-server "127.0.0.1:$ARGOCD_REPO_SERVER_PORT" \
  --repo-server-plaintext \
  --metrics-port "$ARGOCD_CONTROLLER_METRICS_PORT"
wait_for argocd-application-controller "$timeout" "http://127.0.0.1:$ARGOCD_CONTROLLER_METRICS_PORT/healthz" \
  http_ok "http://127.0.0.1:$ARGOCD_CONTROLLER_METRICS_PORT/healthz"

# --- Argo Rollouts ------------------------------------------------------------------------------
# Its metrics and healthz servers listen on every interface (a constant
# upstream, no address flag), like Argo CD's application-controller's
# metrics: free ports.
say "applying the Argo Rollouts CRDs"
k apply --server-side -k "$ROLLOUTS_MODULE_DIR/manifests/crds" >"$STATE/logs/rollouts-crds.log" 2>&1 ||
  { log_tail rollouts-crds; die "cannot apply the Argo Rollouts CRDs"; }
k create namespace argo-rollouts --dry-run=client -o yaml | k apply -f - >/dev/null
start rollouts-controller env POD_NAMESPACE=argo-rollouts "$ROLLOUTS_BIN" \
  --kubeconfig "$STATE/kubeconfig" \
  --metricsPort "$ROLLOUTS_METRICS_PORT" \
  --healthzPort "$ROLLOUTS_HEALTHZ_PORT" \
  --leader-elect=false \
  --ingress-api-version=networking/v1
wait_for rollouts-controller "$timeout" "http://127.0.0.1:$ROLLOUTS_HEALTHZ_PORT/healthz" \
  http_ok "http://127.0.0.1:$ROLLOUTS_HEALTHZ_PORT/healthz"

# --- the quality endpoint -----------------------------------------------------------------
# Built from this repository each time (a second with a warm build cache).
mkdir -p "$STATE/bin"
(cd "$stack_root" && go build -o "$STATE/bin/quality" ./hack/stack/quality) ||
  die "cannot build hack/stack/quality"
start quality "$STATE/bin/quality" -addr "127.0.0.1:$QUALITY_PORT"
wait_for quality "$timeout" "http://127.0.0.1:$QUALITY_PORT/answers" \
  http_ok "http://127.0.0.1:$QUALITY_PORT/answers"

# --- Crossplane core -----------------------------------------------------------------------------------
mkdir -p "$STATE/crossplane/tls-client" "$STATE/crossplane/xpkg-cache" "$STATE/crossplane/xfn-cache"
k create namespace crossplane-system --dry-run=client -o yaml | k apply -f - >/dev/null
xp_env=(
  KUBECONFIG="$STATE/kubeconfig"
  POD_NAMESPACE=crossplane-system
  POD_SERVICE_ACCOUNT=crossplane
  CRDS_PATH="$CROSSPLANE_MODULE_DIR/cluster/crds"
  TLS_CA_SECRET_NAME=crossplane-root-ca
  TLS_CLIENT_SECRET_NAME=crossplane-tls-client
  ENABLE_WEBHOOKS=false
)
xp_init() {
  say "running crossplane core init (log: $STATE/logs/crossplane-init.log)"
  env "${xp_env[@]}" timeout "$timeout" "$CROSSPLANE_CORE_BIN" core init --activation='*' \
    </dev/null >>"$STATE/logs/crossplane-init.log" 2>&1 8>&-
}
if ! xp_init; then
  if grep -q 'no matches for kind "\?Lock' "$STATE/logs/crossplane-init.log"; then
    say "crossplane core init hit the known first-run 'no matches for kind Lock' race: running it again"
    xp_init || { tail -n 20 "$STATE/logs/crossplane-init.log" >&2; die "crossplane core init failed twice (log: $STATE/logs/crossplane-init.log)"; }
  else
    tail -n 20 "$STATE/logs/crossplane-init.log" >&2
    die "crossplane core init failed (log: $STATE/logs/crossplane-init.log)"
  fi
fi
say "writing the crossplane-tls-client Secret to $STATE/crossplane/tls-client"
for key in ca.crt tls.crt tls.key; do
  k -n crossplane-system get secret crossplane-tls-client -o "go-template={{index .data \"$key\"}}" |
    base64 -d >"$STATE/crossplane/tls-client/$key"
  [ -s "$STATE/crossplane/tls-client/$key" ] || die "crossplane-tls-client has no $key (log: $STATE/logs/crossplane-init.log)"
done
chmod 600 "$STATE/crossplane/tls-client/tls.key"

# Crossplane's metrics and health servers bind all interfaces (":PORT", no address
# flag): free ports again.
start crossplane env "${xp_env[@]}" \
  TLS_CLIENT_SECRET_NAME=crossplane-tls-client \
  TLS_CLIENT_CERTS_DIR="$STATE/crossplane/tls-client" \
  XPKG_CACHE_DIR="$STATE/crossplane/xpkg-cache" \
  XFN_CACHE_DIR="$STATE/crossplane/xfn-cache" \
  METRICS_PORT="$CROSSPLANE_METRICS_PORT" \
  HEALTH_PROBE_PORT="$CROSSPLANE_HEALTH_PORT" \
  WEBHOOK_PORT="$CROSSPLANE_WEBHOOK_PORT" \
  "$CROSSPLANE_CORE_BIN" core start --package-runtime='Function=External;Provider=External' ${K8STA_CROSSPLANE_ARGS:-}
wait_for crossplane "$timeout" "http://127.0.0.1:$CROSSPLANE_HEALTH_PORT/readyz" \
  http_ok "http://127.0.0.1:$CROSSPLANE_HEALTH_PORT/readyz"
wait_for crossplane "$timeout" "Crossplane package CRDs Established" \
  k wait --for=condition=Established --timeout=5s \
  crd/providers.pkg.crossplane.io crd/functions.pkg.crossplane.io crd/configurations.pkg.crossplane.io \
  crd/compositeresourcedefinitions.apiextensions.crossplane.io crd/compositions.apiextensions.crossplane.io

write_env true
say "stack up in $((SECONDS - started_at))s: source $STATE/env (KUBECONFIG=$STATE/kubeconfig, apiserver https://127.0.0.1:$APISERVER_PORT)"
