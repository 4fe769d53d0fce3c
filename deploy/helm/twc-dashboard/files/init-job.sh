#!/bin/bash
# The chart's InfluxDB set-up Job: waits until InfluxDB is onboarded, runs
# influxdb/scripts/init.sh (buckets, retention, downsampling tasks, one
# least-privilege token per service), then stores the token files it wrote in
# the Secret the services mount at /twc-tokens.
#
# Why a Job and a Secret: in docker-compose.yml the services share a volume
# with InfluxDB, where init.sh leaves the tokens; pods on different nodes
# cannot share a ReadWriteOnce volume, and InfluxDB 2.8 chooses token values
# itself, so they cannot be set in values either. The Job talks to the
# Kubernetes API with curl and its service account (the influxdb image, which
# runs init.sh, has curl but no kubectl).
#
# Environment: init.sh's (INFLUX_HOST, INFLUX_TOKEN, INFLUXDB_*), and
#   TOKENS_SECRET   the Secret to write; empty: leave the tokens in INFLUXDB_TOKENS_DIR
#   SETUP_TIMEOUT_S how long to wait for InfluxDB's onboarding [600]
set -euo pipefail

log() { printf '[twc-influxdb-init-job] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

HOST="${INFLUX_HOST:?INFLUX_HOST is required}"
HOST="${HOST%/}"
SCRIPT_DIR="$(cd "$(dirname "$0")" && pwd)"
export INFLUXDB_TOKENS_DIR="${INFLUXDB_TOKENS_DIR:-/tmp/twc-tokens}"

# The influxdb image answers /health before its first-start set-up has created
# the organization: GET /api/v2/setup says "allowed": false once it has.
deadline=$(($(date +%s) + ${SETUP_TIMEOUT_S:-600}))
until curl --silent --fail --max-time 5 "$HOST/api/v2/setup" 2>/dev/null | grep -q '"allowed": *false'; do
  [ "$(date +%s)" -lt "$deadline" ] || die "InfluxDB at $HOST is not onboarded after ${SETUP_TIMEOUT_S:-600}s"
  sleep 3
done

bash "$SCRIPT_DIR/init.sh"

[ -n "${TOKENS_SECRET:-}" ] || exit 0

SA=/var/run/secrets/kubernetes.io/serviceaccount
[ -r "$SA/token" ] || die "no service account token in $SA: the Job needs its service account"
NAMESPACE="$(cat "$SA/namespace")"
API="https://${KUBERNETES_SERVICE_HOST:?}:${KUBERNETES_SERVICE_PORT:-443}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# From a file, so the service account token never shows in the process list.
(umask 077 && printf 'Authorization: Bearer %s\n' "$(cat "$SA/token")" >"$WORK/auth-header")

data=""
for file in "$INFLUXDB_TOKENS_DIR"/*.token; do
  [ -s "$file" ] || die "$file is empty"
  data="$data${data:+,}\"$(basename "$file")\":\"$(base64 -w 0 <"$file")\""
done
[ -n "$data" ] || die "init.sh wrote no token into $INFLUXDB_TOKENS_DIR"
printf '{"apiVersion":"v1","kind":"Secret","type":"Opaque","metadata":{"name":"%s","labels":{"app.kubernetes.io/component":"influxdb-tokens","app.kubernetes.io/managed-by":"twc-influxdb-init-job"}},"data":{%s}}' \
  "$TOKENS_SECRET" "$data" >"$WORK/secret.json"

kube() { # METHOD PATH -> HTTP status; the answer in $WORK/response
  curl --silent --show-error --cacert "$SA/ca.crt" --header "@$WORK/auth-header" \
    --header 'Content-Type: application/json' --request "$1" --data-binary "@$WORK/secret.json" \
    --output "$WORK/response" --write-out '%{http_code}' "$API$2"
}

status="$(kube PUT "/api/v1/namespaces/$NAMESPACE/secrets/$TOKENS_SECRET")"
if [ "$status" = 404 ]; then
  status="$(kube POST "/api/v1/namespaces/$NAMESPACE/secrets")"
fi
case "$status" in
  2??) log "tokens stored in Secret $TOKENS_SECRET" ;;
  *) die "writing Secret $TOKENS_SECRET: HTTP $status: $(tr -d '\n' <"$WORK/response")" ;;
esac
