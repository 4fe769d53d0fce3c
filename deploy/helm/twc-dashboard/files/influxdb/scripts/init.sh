#!/bin/bash
# Prepares InfluxDB for the TWC dashboard: one bucket per resolution with its
# retention, the downsampling tasks that fill the coarser buckets, and one
# least-privilege token per consumer, so that nothing in the stack but this
# script uses the admin token.
#
# The official influxdb:2.8 image runs it once, from /docker-entrypoint-initdb.d,
# after its own set-up (DOCKER_INFLUXDB_INIT_MODE=setup), against the temporary
# influxd it started at INFLUX_HOST. It may be run again at any time (by hand,
# after an upgrade of this project): buckets and tasks are found by name and
# tokens by description; what matches is left alone, what differs is updated in
# place, and no bucket is ever deleted.
#
# Why curl and not the influx CLI: the image ships both, but the CLI cannot be
# built on the machines that run the tests (the Go module proxy refuses
# influx-cli v2.7.5, the version in the image), while curl is everywhere, so
# the tests exercise the very code path the image runs. The image has no jq, so JSON
# is split into tokens with grep -o and walked with awk into `path<TAB>value`
# lines (json_flatten below); requests carry no user text but the Flux of the
# tasks, which json_string escapes.
#
# Token values: InfluxDB 2.8 always generates an authorization's token itself
# (POST /api/v2/authorizations has no token field), so the values cannot be
# chosen in advance. Each consumer's token is written to
# $INFLUXDB_TOKENS_DIR/<consumer>.token instead, which the services read
# through INFLUXDB_TOKEN_FILE and Grafana's provisioning through $__file{...}.
#
# Environment (default):
#   INFLUX_HOST                  http://localhost:8086 (the image sets its set-up instance)
#   INFLUX_TOKEN                 admin token; else DOCKER_INFLUXDB_INIT_ADMIN_TOKEN, else the file in
#                                DOCKER_INFLUXDB_INIT_ADMIN_TOKEN_FILE, else the active influx CLI
#                                configuration in INFLUX_CONFIGS_PATH (written by the image's set-up)
#   INFLUXDB_ORG                 DOCKER_INFLUXDB_INIT_ORG, else twc
#   INFLUXDB_BUCKET_RAW          twc_raw        INFLUXDB_RETENTION_RAW       7d
#   INFLUXDB_BUCKET_1M           twc_1m         INFLUXDB_RETENTION_1M        30d
#   INFLUXDB_BUCKET_5M           twc_5m         INFLUXDB_RETENTION_5M        365d
#   INFLUXDB_BUCKET_1H           twc_1h         INFLUXDB_RETENTION_1H        0 (forever)
#   INFLUXDB_BUCKET_SESSIONS     twc_sessions   INFLUXDB_RETENTION_SESSIONS  0
#   INFLUXDB_BUCKET_PRICES       twc_prices     INFLUXDB_RETENTION_PRICES    0
#   INFLUXDB_TASKS_DIR           <this script's directory>/../tasks
#   INFLUXDB_TOKENS_DIR          /twc-tokens
# A retention is 0 (or infinite) for forever, or a whole number of s, m, h, d or w, at least 1h.
set -euo pipefail

log() { printf '[twc-influxdb-init] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# --- JSON --------------------------------------------------------------------

# JSON on stdin -> one line per scalar: its path, a tab, its raw JSON text,
# e.g. `.buckets[0].retentionRules[0].everySeconds<TAB>604800`. JSON strings
# cannot hold a raw newline or tab, so a token never spans lines and a value
# never holds the separator.
json_flatten() {
  { grep -Eo '"([^"\\]|\\.)*"|-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|true|false|null|[][{}:,]' || true; } | awk '
    function here() { return (type[d] == "[") ? (pre[d] "[" idx[d] "]") : (pre[d] "." key[d]) }
    $0 == "{" || $0 == "[" {
      p = (d > 0) ? here() : ""
      d++; type[d] = $0; pre[d] = p; idx[d] = 0; wantkey[d] = ($0 == "{")
      next
    }
    $0 == "}" || $0 == "]" { d--; next }
    $0 == ":" { wantkey[d] = 0; next }
    $0 == "," { if (type[d] == "[") idx[d]++; else wantkey[d] = 1; next }
    type[d] == "{" && wantkey[d] { key[d] = substr($0, 2, length($0) - 2); next }
    { print here() "\t" $0 }
  '
}

# FLAT PATH -> the value at PATH, a string without its quotes. Used for ids,
# names and tokens only, which never contain a JSON escape.
json_get() {
  printf '%s\n' "$1" | awk -F '\t' -v path="$2" '
    $1 == path { v = $2; if (v ~ /^".*"$/) v = substr(v, 2, length(v) - 2); print v; exit }'
}

# FLAT ARRAY FIELD VALUE -> each index i with ARRAY[i].FIELD == "VALUE", one per line.
json_find() {
  printf '%s\n' "$1" | awk -F '\t' -v array="$2" -v field=".$3" -v want="\"$4\"" '
    index($1, array "[") == 1 && $2 == want {
      rest = substr($1, length(array) + 2)
      i = substr(rest, 1, index(rest, "]") - 1)
      if (substr(rest, length(i) + 2) == field) print i
    }'
}

# stdin -> the text as one JSON string literal.
json_string() {
  awk '
    BEGIN { ORS = ""; print "\"" }
    NR > 1 { print "\\n" }
    {
      gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, "\\t"); gsub(/\r/, "\\r")
      print
    }
    END { print "\"" }'
}

# --- configuration -----------------------------------------------------------

HOST="${INFLUX_HOST:-http://localhost:8086}"
HOST="${HOST%/}"
ORG="${INFLUXDB_ORG:-${DOCKER_INFLUXDB_INIT_ORG:-twc}}"
SCRIPT_DIR="$(cd "$(dirname "$0")" && pwd)"
TASKS_DIR="${INFLUXDB_TASKS_DIR:-$SCRIPT_DIR/../tasks}"
TOKENS_DIR="${INFLUXDB_TOKENS_DIR:-/twc-tokens}"

BUCKET_RAW="${INFLUXDB_BUCKET_RAW:-twc_raw}"
BUCKET_1M="${INFLUXDB_BUCKET_1M:-twc_1m}"
BUCKET_5M="${INFLUXDB_BUCKET_5M:-twc_5m}"
BUCKET_1H="${INFLUXDB_BUCKET_1H:-twc_1h}"
BUCKET_SESSIONS="${INFLUXDB_BUCKET_SESSIONS:-twc_sessions}"
BUCKET_PRICES="${INFLUXDB_BUCKET_PRICES:-twc_prices}"

# Names end up in URLs, JSON and Flux string literals unescaped.
safe_name() { # VARIABLE VALUE
  [[ "$2" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "$1=\"$2\": use letters, digits, '.', '_' and '-' only"
}
safe_name INFLUXDB_ORG "$ORG"
for variable in BUCKET_RAW BUCKET_1M BUCKET_5M BUCKET_1H BUCKET_SESSIONS BUCKET_PRICES; do
  safe_name "INFLUXDB_$variable" "${!variable}"
done

retention_seconds() { # VARIABLE VALUE -> seconds, 0 for forever
  local value="$2" number unit
  case "$value" in
    0 | infinite | forever) echo 0 && return ;;
  esac
  [[ "$value" =~ ^([0-9]+)([smhdw])$ ]] || die "$1=\"$value\": expected 0 (forever) or a number with s, m, h, d or w"
  number=$((10#${BASH_REMATCH[1]}))
  unit="${BASH_REMATCH[2]}"
  case "$unit" in
    s) number=$((number)) ;;
    m) number=$((number * 60)) ;;
    h) number=$((number * 3600)) ;;
    d) number=$((number * 86400)) ;;
    w) number=$((number * 604800)) ;;
  esac
  # InfluxDB refuses shorter retention periods.
  [ "$number" -ge 3600 ] || die "$1=\"$value\": InfluxDB keeps data at least 1h"
  echo "$number"
}
RETENTION_RAW="$(retention_seconds INFLUXDB_RETENTION_RAW "${INFLUXDB_RETENTION_RAW:-7d}")"
RETENTION_1M="$(retention_seconds INFLUXDB_RETENTION_1M "${INFLUXDB_RETENTION_1M:-30d}")"
RETENTION_5M="$(retention_seconds INFLUXDB_RETENTION_5M "${INFLUXDB_RETENTION_5M:-365d}")"
RETENTION_1H="$(retention_seconds INFLUXDB_RETENTION_1H "${INFLUXDB_RETENTION_1H:-0}")"
RETENTION_SESSIONS="$(retention_seconds INFLUXDB_RETENTION_SESSIONS "${INFLUXDB_RETENTION_SESSIONS:-0}")"
RETENTION_PRICES="$(retention_seconds INFLUXDB_RETENTION_PRICES "${INFLUXDB_RETENTION_PRICES:-0}")"

admin_token() {
  if [ -n "${INFLUX_TOKEN:-}" ]; then
    printf '%s' "$INFLUX_TOKEN"
  elif [ -n "${DOCKER_INFLUXDB_INIT_ADMIN_TOKEN:-}" ]; then
    printf '%s' "$DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"
  elif [ -n "${DOCKER_INFLUXDB_INIT_ADMIN_TOKEN_FILE:-}" ]; then
    # The image's entrypoint reads this file into a variable it does not export.
    [ -r "$DOCKER_INFLUXDB_INIT_ADMIN_TOKEN_FILE" ] || die "cannot read $DOCKER_INFLUXDB_INIT_ADMIN_TOKEN_FILE"
    tr -d '\r\n' <"$DOCKER_INFLUXDB_INIT_ADMIN_TOKEN_FILE"
  elif [ -n "${INFLUX_CONFIGS_PATH:-}" ] && [ -r "$INFLUX_CONFIGS_PATH" ]; then
    # Without an admin token in the environment the image's `influx setup`
    # generates one and keeps it only in the CLI's TOML configurations.
    awk '
      /^[[:space:]]*\[/ { if (token != "" && active) exit; token = ""; active = 0 }
      /^[[:space:]]*token[[:space:]]*=/ { token = $0; sub(/^[^"]*"/, "", token); sub(/".*$/, "", token); if (first == "") first = token }
      /^[[:space:]]*active[[:space:]]*=[[:space:]]*true/ { active = 1 }
      END { if (token != "" && active) printf "%s", token; else printf "%s", first }
    ' "$INFLUX_CONFIGS_PATH"
  fi
}
ADMIN_TOKEN="$(admin_token)"
[ -n "$ADMIN_TOKEN" ] || die "no admin token: set INFLUX_TOKEN or DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"
# Passed to curl from a file so the token never shows in the process list.
(umask 077 && printf 'Authorization: Token %s\n' "$ADMIN_TOKEN" >"$WORK/auth-header")

for consumer in GRAFANA COLLECTOR POLLER API; do
  variable="${consumer}_INFLUXDB_TOKEN"
  if [ -n "${!variable:-}" ]; then
    log "$variable is ignored: InfluxDB 2.8 chooses token values itself; read $TOKENS_DIR/*.token instead"
  fi
done

# --- HTTP API ----------------------------------------------------------------

# [--allow-404] METHOD PATH [BODY] -> the response body on stdout (empty for an
# allowed 404). Any other status outside 2xx ends the script with InfluxDB's message.
api() {
  local allow404=0 method path status
  if [ "$1" = --allow-404 ]; then
    allow404=1
    shift
  fi
  method="$1"
  path="$2"
  local -a args=(--silent --show-error --output "$WORK/response" --write-out '%{http_code}'
    --request "$method" --header "@$WORK/auth-header")
  if [ $# -ge 3 ]; then
    printf '%s' "$3" >"$WORK/request"
    args+=(--header 'Content-Type: application/json' --data-binary "@$WORK/request")
  fi
  status="$(curl "${args[@]}" "$HOST$path")" || die "cannot reach InfluxDB at $HOST"
  if [ "$status" = 404 ] && [ "$allow404" = 1 ]; then
    return 0
  fi
  case "$status" in
    2??) cat "$WORK/response" ;;
    *) die "$method $path: HTTP $status: $(tr -d '\n\t' <"$WORK/response")" ;;
  esac
}

# --- organization and buckets ------------------------------------------------

orgs="$(api GET '/api/v2/orgs?limit=100' | json_flatten)"
index="$(json_find "$orgs" .orgs name "$ORG" | head -n 1)"
[ -n "$index" ] || die "organization $ORG not found (INFLUXDB_ORG or DOCKER_INFLUXDB_INIT_ORG)"
ORG_ID="$(json_get "$orgs" ".orgs[$index].id")"

declare -A BUCKET_ID

ensure_bucket() { # NAME RETENTION_SECONDS
  local name="$1" seconds="$2" flat current id
  flat="$(api --allow-404 GET "/api/v2/buckets?orgID=$ORG_ID&name=$name" | json_flatten)"
  id="$(json_get "$flat" '.buckets[0].id')"
  if [ -z "$id" ]; then
    flat="$(api POST /api/v2/buckets \
      "{\"orgID\":\"$ORG_ID\",\"name\":\"$name\",\"retentionRules\":[{\"type\":\"expire\",\"everySeconds\":$seconds}]}" |
      json_flatten)"
    id="$(json_get "$flat" .id)"
    log "bucket $name: created (retention ${seconds}s)"
  else
    current="$(json_get "$flat" '.buckets[0].retentionRules[0].everySeconds')"
    if [ "${current:-0}" = "$seconds" ]; then
      log "bucket $name: up to date"
    else
      # A shard group duration of 0 lets InfluxDB pick the one that suits the
      # new retention, as it does when creating a bucket.
      api PATCH "/api/v2/buckets/$id" \
        "{\"retentionRules\":[{\"type\":\"expire\",\"everySeconds\":$seconds,\"shardGroupDurationSeconds\":0}]}" >/dev/null
      log "bucket $name: retention ${current:-0}s -> ${seconds}s"
    fi
  fi
  BUCKET_ID[$name]="$id"
}

ensure_bucket "$BUCKET_RAW" "$RETENTION_RAW"
ensure_bucket "$BUCKET_1M" "$RETENTION_1M"
ensure_bucket "$BUCKET_5M" "$RETENTION_5M"
ensure_bucket "$BUCKET_1H" "$RETENTION_1H"
ensure_bucket "$BUCKET_SESSIONS" "$RETENTION_SESSIONS"
ensure_bucket "$BUCKET_PRICES" "$RETENTION_PRICES"

# --- tasks -------------------------------------------------------------------

# Every tasks/*.flux is a task. Its placeholders @ORG@ and @BUCKET_<NAME>@ only
# ever stand inside Flux string literals, so the files parse as they are. The
# rendered Flux starts with a hash of itself: a task whose stored Flux carries
# the same hash is up to date, without decoding the stored text.
render_task() { # FILE -> Flux on stdout
  sed -e "s/@ORG@/$ORG/g" \
    -e "s/@BUCKET_RAW@/$BUCKET_RAW/g" \
    -e "s/@BUCKET_1M@/$BUCKET_1M/g" \
    -e "s/@BUCKET_5M@/$BUCKET_5M/g" \
    -e "s/@BUCKET_1H@/$BUCKET_1H/g" \
    -e "s/@BUCKET_SESSIONS@/$BUCKET_SESSIONS/g" \
    -e "s/@BUCKET_PRICES@/$BUCKET_PRICES/g" \
    "$1"
}

ensure_task() { # FILE
  local file="$1" name hash flux flat id count
  render_task "$file" >"$WORK/task.flux"
  if grep -q '@[A-Z_]*@' "$WORK/task.flux"; then
    die "$file: unknown placeholder $(grep -o '@[A-Z_]*@' "$WORK/task.flux" | head -n 1)"
  fi
  name="$(sed -n 's/^option task = {.*name: "\([^"]*\)".*/\1/p' "$WORK/task.flux" | head -n 1)"
  [ -n "$name" ] || die "$file: no 'option task = {name: \"...\", ...}' line"
  hash="$(sha256sum "$WORK/task.flux" | cut -c 1-64)"
  flux="$( (printf '// twc-task-sha256: %s\n' "$hash" && cat "$WORK/task.flux") | json_string)"

  flat="$(api GET "/api/v2/tasks?orgID=$ORG_ID&name=$name" | json_flatten)"
  count="$(printf '%s\n' "$flat" | grep -c '^\.tasks\[[0-9]*\]\.id	' || true)"
  if [ "$count" = 0 ]; then
    api POST /api/v2/tasks "{\"orgID\":\"$ORG_ID\",\"status\":\"active\",\"flux\":$flux}" >/dev/null
    log "task $name: created"
    return
  fi
  [ "$count" = 1 ] || log "task $name: $count tasks carry this name; updating the first"
  id="$(json_get "$flat" '.tasks[0].id')"
  if printf '%s\n' "$flat" | grep -q "^\.tasks\[0\]\.flux	\"// twc-task-sha256: $hash\\\\n"; then
    log "task $name: up to date"
  else
    # The status is left as it is: a task someone paused stays paused.
    api PATCH "/api/v2/tasks/$id" "{\"flux\":$flux}" >/dev/null
    log "task $name: updated"
  fi
}

shopt -s nullglob
task_files=("$TASKS_DIR"/*.flux)
[ ${#task_files[@]} -gt 0 ] || die "no tasks in $TASKS_DIR (INFLUXDB_TASKS_DIR)"
for file in "${task_files[@]}"; do
  ensure_task "$file"
done

# --- tokens ------------------------------------------------------------------

# ACTION:BUCKET ... -> the permissions as JSON, and as sorted `action:bucketID`
# lines in $WORK/wanted for comparison with an existing authorization.
permissions_json() {
  local entry action bucket json=""
  : >"$WORK/wanted"
  for entry in "$@"; do
    action="${entry%%:*}"
    bucket="${entry#*:}"
    json="$json${json:+,}{\"action\":\"$action\",\"resource\":{\"type\":\"buckets\",\"orgID\":\"$ORG_ID\",\"id\":\"${BUCKET_ID[$bucket]}\"}}"
    printf 'buckets:%s:%s\n' "$action" "${BUCKET_ID[$bucket]}" >>"$WORK/wanted"
  done
  sort -u -o "$WORK/wanted" "$WORK/wanted"
  printf '[%s]' "$json"
}

# The permissions of AUTHS[INDEX] as sorted `type:action:id` lines.
granted_permissions() { # FLAT INDEX
  printf '%s\n' "$1" | awk -F '\t' -v prefix=".authorizations[$2].permissions[" '
    index($1, prefix) == 1 {
      rest = substr($1, length(prefix) + 1)
      i = substr(rest, 1, index(rest, "]") - 1)
      field = substr(rest, length(i) + 2)
      v = $2; gsub(/"/, "", v)
      if (field == ".action") action[i] = v
      else if (field == ".resource.type") type[i] = v
      else if (field == ".resource.id") id[i] = v
      seen[i] = 1
    }
    END { for (i in seen) print type[i] ":" action[i] ":" id[i] }' | sort -u
}

write_token_file() { # CONSUMER TOKEN
  local file="$TOKENS_DIR/$1.token"
  if [ -f "$file" ] && [ "$(cat "$file")" = "$2" ]; then
    return
  fi
  mkdir -p "$TOKENS_DIR"
  # Readable by the services' own users (Grafana runs as uid 472, the Node
  # services as another): the directory is a volume shared with them only.
  (umask 022 && printf '%s' "$2" >"$file.partial")
  mv "$file.partial" "$file"
  log "token for $1 written to $file"
}

ensure_token() { # CONSUMER DESCRIPTION ACTION:BUCKET...
  local consumer="$1" description="$2" permissions flat index id token status kept=""
  local -a stale=()
  shift 2
  permissions="$(permissions_json "$@")"
  flat="$(api GET "/api/v2/authorizations?orgID=$ORG_ID" | json_flatten)"
  for index in $(json_find "$flat" .authorizations description "$description"); do
    id="$(json_get "$flat" ".authorizations[$index].id")"
    token="$(json_get "$flat" ".authorizations[$index].token")"
    if ! granted_permissions "$flat" "$index" | cmp -s - "$WORK/wanted"; then
      # Permissions cannot be edited in place: the token is replaced below.
      stale+=("$id")
    elif [ -z "$kept" ] && [ -z "$token" ] && ! [ -s "$TOKENS_DIR/$consumer.token" ]; then
      # With hashed tokens (INFLUXD_USE_HASHED_TOKENS) InfluxDB shows a token
      # only when it creates it: a lost token file means a new token.
      stale+=("$id")
    elif [ -z "$kept" ]; then
      kept="$id"
      status="$(json_get "$flat" ".authorizations[$index].status")"
      [ "$status" = active ] || log "token \"$description\" is $status; left so"
      [ -z "$token" ] || write_token_file "$consumer" "$token"
    fi
  done
  if [ -n "$kept" ]; then
    log "token \"$description\": up to date"
  else
    flat="$(api POST /api/v2/authorizations \
      "{\"orgID\":\"$ORG_ID\",\"status\":\"active\",\"description\":\"$description\",\"permissions\":$permissions}" |
      json_flatten)"
    write_token_file "$consumer" "$(json_get "$flat" .token)"
    log "token \"$description\": created"
  fi
  for id in "${stale[@]}"; do
    api DELETE "/api/v2/authorizations/$id" >/dev/null
    log "token \"$description\" $id: deleted, replaced by one with the current permissions"
  done
}

ALL_BUCKETS=("$BUCKET_RAW" "$BUCKET_1M" "$BUCKET_5M" "$BUCKET_1H" "$BUCKET_SESSIONS" "$BUCKET_PRICES")
ensure_token grafana 'twc-dashboard grafana (read-only)' "${ALL_BUCKETS[@]/#/read:}"
ensure_token api 'twc-dashboard api (read-only)' "${ALL_BUCKETS[@]/#/read:}"
# The collector rebuilds sessions from its raw data, prices them from ComEd's,
# and reads back the sessions whose cost is still provisional to complete it.
ensure_token collector 'twc-dashboard collector' \
  "write:$BUCKET_RAW" "write:$BUCKET_SESSIONS" "read:$BUCKET_RAW" "read:$BUCKET_PRICES" "read:$BUCKET_SESSIONS"
ensure_token comed-poller 'twc-dashboard comed-poller' "write:$BUCKET_PRICES" "read:$BUCKET_PRICES"

log "done"
