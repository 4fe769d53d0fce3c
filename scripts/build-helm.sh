#!/usr/bin/env bash
# Builds Helm 3 (the helm command) from its Go module, for packaging the
# Kubernetes chart in deploy/helm/twc-dashboard and for the tests that lint and
# render it. Cached under ~/.cache keyed by version, like influxd: only a new
# machine pays for the build.
#
#   ./scripts/build-helm.sh            print the path of the helm binary (building it once)
#   ./scripts/build-helm.sh package    copy grafana/, influxdb/ and mosquitto.conf into the
#                                      chart's files/, then lint and package it into dist/helm/
#   ./scripts/build-helm.sh sync       only copy them into the chart's files/
#
# Why the copy: Helm's .Files reads only files inside the chart directory, so
# the Grafana provisioning and dashboards, the InfluxDB set-up script and tasks
# and mosquitto.conf, which the chart mounts from ConfigMaps, must sit under
# deploy/helm/twc-dashboard/files/. A test checks that the copies match their sources.
#
# The binary's path goes to stdout; progress goes to stderr.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/twc-dashboard/helm"
OUT_DIR="$CACHE_ROOT/$HELM_VERSION"
OUT="$OUT_DIR/helm"
REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CHART_DIR="$REPO_ROOT/deploy/helm/twc-dashboard"

log() { printf '[build-helm] %s\n' "$*" >&2; }

# Copies what the chart's ConfigMaps carry into its files/ directory: the
# same files docker-compose.yml mounts from grafana/ and influxdb/.
sync_chart_files() {
  local files="$CHART_DIR/files"
  rm -rf "$files/grafana" "$files/influxdb" "$files/mosquitto"
  mkdir -p "$files/grafana" "$files/influxdb" "$files/mosquitto"
  cp -R "$REPO_ROOT/grafana/provisioning" "$REPO_ROOT/grafana/dashboards" "$REPO_ROOT/grafana/entrypoint.sh" \
    "$files/grafana/"
  cp -R "$REPO_ROOT/influxdb/scripts" "$REPO_ROOT/influxdb/tasks" "$files/influxdb/"
  cp "$REPO_ROOT/mosquitto/mosquitto.conf" "$files/mosquitto/"
  log "copied grafana/, influxdb/ and mosquitto/mosquitto.conf into ${files#"$REPO_ROOT"/}"
}

build_helm() {
  if [ -x "$OUT" ] && "$OUT" version --short >/dev/null 2>&1; then
    log "reusing $OUT"
    return
  fi
  command -v go >/dev/null || { log "missing go: install Go (1.26 or newer for Helm $HELM_VERSION)"; exit 1; }

  local started work helm_src client_go k8s_major k8s_minor
  started=$(date +%s)
  work="$(mktemp -d)"
  # shellcheck disable=SC2064 # the directory is known now and must be removed on any exit
  trap "chmod -R u+w '$work' 2>/dev/null; rm -rf '$work'" EXIT

  log "fetching helm.sh/helm/v3@$HELM_VERSION"
  helm_src="$(GOFLAGS=-mod=mod go mod download -json "helm.sh/helm/v3@$HELM_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -n "$helm_src" ] || { log "could not download helm $HELM_VERSION"; exit 1; }
  # `go install mod@version` refuses a module whose go.mod carries a replace
  # directive; building inside a writable copy honours one if a release adds it,
  # keeps the module's exact go.sum, and lets `go list` below read its requirements.
  cp -r "$helm_src" "$work/helm"
  chmod -R u+w "$work/helm"

  # Helm's Makefile stamps the version and the Kubernetes API version it
  # supports (from client-go, major + 1) into the binary; `helm lint` and
  # `.Capabilities.KubeVersion` read the latter.
  client_go="$(cd "$work/helm" && go list -m -f '{{.Version}}' k8s.io/client-go)"
  client_go="${client_go#v}"
  k8s_major=$((${client_go%%.*} + 1))
  k8s_minor="$(echo "$client_go" | cut -d . -f 2)"

  log "building helm $HELM_VERSION with go (a few minutes on a cold machine)"
  mkdir -p "$OUT_DIR"
  (cd "$work/helm" &&
    CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath \
      -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION \
-X helm.sh/helm/v3/internal/version.gitTreeState=clean \
-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$k8s_major \
-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$k8s_minor \
-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$k8s_major \
-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$k8s_minor" \
      -o "$OUT.partial" ./cmd/helm)
  mv "$OUT.partial" "$OUT"
  "$OUT" version --short >&2
  log "built in $(($(date +%s) - started)) s"
}

case "${1:-}" in
  "")
    build_helm
    echo "$OUT"
    ;;
  sync)
    sync_chart_files
    ;;
  package)
    build_helm
    sync_chart_files
    mkdir -p "$REPO_ROOT/dist/helm"
    "$OUT" lint "$CHART_DIR" >&2
    "$OUT" package "$CHART_DIR" --destination "$REPO_ROOT/dist/helm" >&2
    echo "$OUT"
    ;;
  *)
    log "usage: $0 [package|sync]"
    exit 2
    ;;
esac
