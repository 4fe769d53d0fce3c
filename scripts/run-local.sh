#!/usr/bin/env bash
# Runs the collector, the comed-poller and the API as plain Node processes, for
# a machine without Docker. Grafana is the one part of the stack left out.
#
#   ./scripts/run-local.sh                  against the InfluxDB, Redis and Mosquitto named in .env
#   ./scripts/run-local.sh --demo           the whole pipeline offline: also starts a local
#                                           InfluxDB, Redis and Mosquitto (the servers the tests
#                                           run), simulated chargers and a local ComEd stand-in
#   ./scripts/run-local.sh --env-file FILE  settings from FILE instead of the repository's .env
#
# Settings come from .env (every one is documented in .env.example); a variable
# already set in the environment wins over .env, as with docker compose. Without
# --demo the services also need, in .env or the environment:
#   INFLUXDB_URL, REDIS_URL   where the servers are (compose's service names mean nothing here)
#   INFLUXDB_TOKENS_DIR       the directory influxdb/scripts/init.sh wrote the services' tokens
#                             to (<service>.token); or INFLUXDB_TOKEN, one token for all three
#   MQTT_URL                  the broker of the Home Assistant bridge, e.g. mqtt://127.0.0.1:1883
# and, for both modes:
#   TWC_LOCAL_DIR             spools, price backfill progress, reports, tokens (--demo) and logs
#                             [~/.local/share/twc-dashboard; --demo: a new temporary directory]
#   API_PORT [8000]  API_HOST [API's default; --demo: 127.0.0.1]  HEALTH_PORT [8081] (collector)
#   POLLER_HEALTH_PORT [8082] (comed-poller)
# --demo only:
#   SIM_CHARGERS [2]  SIM_SCENARIO [session]  SIM_SPEED [1] (simulated seconds per real second;
#   the collector dates samples by the simulator's clock, read from its /sim/clock)
#
# Ctrl-C or SIGTERM stops everything and exits 0: the services first (they
# flush buffered points), then the simulator, the ComEd stand-in and the
# servers. Any process ending on its own stops the rest and exits 1.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"

log() { printf '[run-local] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

DEMO=0
ENV_FILE="$REPO_ROOT/.env"
while [ $# -gt 0 ]; do
  case "$1" in
    --demo) DEMO=1 ;;
    --env-file)
      [ $# -ge 2 ] || die "--env-file needs a file"
      # Relative to where the command was typed, not to the repository.
      case "$2" in
        /*) ENV_FILE="$2" ;;
        *) ENV_FILE="$PWD/$2" ;;
      esac
      shift
      ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
      exit 0
      ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
cd "$REPO_ROOT"

command -v node >/dev/null || die "node is missing: install Node.js 20.18 or newer"
command -v curl >/dev/null || die "curl is missing (influxdb/scripts/init.sh and the health checks use it)"
[ -d node_modules/tsx ] || die "the workspace's packages are missing: run pnpm install"

# --- settings ----------------------------------------------------------------

if [ -f "$ENV_FILE" ]; then
  # docker compose semantics: the environment wins over .env.
  overrides=()
  while IFS= read -r key; do
    if [ -n "${!key+x}" ]; then overrides+=("$key=${!key}"); fi
  done < <(sed -n 's/^[[:space:]]*\(export[[:space:]]\{1,\}\)\{0,1\}\([A-Za-z_][A-Za-z0-9_]*\)=.*/\2/p' "$ENV_FILE")
  set -a
  # shellcheck disable=SC1090 # the user's settings file
  . "$ENV_FILE"
  set +a
  for entry in "${overrides[@]}"; do export "${entry%%=*}=${entry#*=}"; done
  log "settings from $ENV_FILE"
elif [ "$DEMO" = 0 ]; then
  die "$ENV_FILE not found: copy .env.example to .env (or run ./setup.sh --no-start) and name your servers in it"
fi

if [ "$DEMO" = 1 ]; then
  LOCAL_DIR="${TWC_LOCAL_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/twc-local-XXXXXX")}"
else
  LOCAL_DIR="${TWC_LOCAL_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/twc-dashboard}"
fi
LOG_DIR="$LOCAL_DIR/logs"
mkdir -p "$LOG_DIR"
echo "logs: $LOG_DIR"

# --- child processes -----------------------------------------------------------

NAMES=()
PIDS=()
STOPPED=0

# NAME STDOUT_FILE COMMAND...: starts COMMAND in a process group of its own
# (setsid), so stopping it reaches whatever it started, and a terminal's
# Ctrl-C reaches only this script, which then stops the children in order.
spawn() {
  local name="$1" out="$2"
  shift 2
  if [ "$out" = "$LOG_DIR/$name.log" ]; then
    setsid "$@" >"$out" 2>&1 </dev/null &
  else
    setsid "$@" >"$out" 2>"$LOG_DIR/$name.log" </dev/null &
  fi
  NAMES+=("$name")
  PIDS+=("$!")
  log "$name started (pid $!, log $LOG_DIR/$name.log)"
}

stop_one() { # NAME PID
  local name="$1" pid="$2" tries
  kill -0 -- "-$pid" 2>/dev/null || return 0
  kill -TERM -- "-$pid" 2>/dev/null || true
  for ((tries = 0; tries < 150; tries++)); do
    kill -0 -- "-$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  log "$name did not stop within 30 s: killing it"
  kill -KILL -- "-$pid" 2>/dev/null || true
}

stop_all() {
  [ "$STOPPED" = 0 ] || return 0
  STOPPED=1
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    stop_one "${NAMES[i]}" "${PIDS[i]}"
  done
  [ ${#PIDS[@]} -eq 0 ] || log "stopped"
}

on_signal() {
  log "stopping"
  stop_all
  exit 0
}
trap on_signal TERM INT
trap stop_all EXIT

# A signal interrupts `wait` at once, where it would wait for a foreground sleep.
pause() {
  sleep "$1" &
  wait $! || true
}

running() { # INDEX
  kill -0 "${PIDS[$1]}" 2>/dev/null
}

died() { # INDEX
  local name="${NAMES[$1]}"
  tail -n 20 "$LOG_DIR/$name.log" >&2 || true
  die "$name exited; its log: $LOG_DIR/$name.log"
}

# Waits until the last started process has printed a line to FILE; prints it.
first_line() { # FILE TIMEOUT_S
  local index=$((${#PIDS[@]} - 1)) deadline=$((SECONDS + $2))
  until [ -s "$1" ] && grep -q . "$1"; do
    running "$index" || died "$index"
    [ "$SECONDS" -lt "$deadline" ] || die "${NAMES[index]} printed nothing in $2 s"
    pause 0.2
  done
  head -n 1 "$1"
}

json_get() { # JSON PATH (dot separated, numbers index arrays)
  node -e '
    let value = JSON.parse(process.argv[1]);
    for (const key of process.argv[2].split(".")) value = value?.[key];
    if (value === undefined) process.exit(1);
    process.stdout.write(typeof value === "object" ? JSON.stringify(value) : String(value));
  ' "$1" "$2"
}

# --- demo: servers, ComEd and chargers of our own --------------------------------

TSX=(node --import tsx --conditions=twc-source)

if [ "$DEMO" = 1 ]; then
  spawn servers "$LOG_DIR/servers.json" "${TSX[@]}" scripts/local-servers.ts
  servers="$(first_line "$LOG_DIR/servers.json" 180)"
  INFLUXDB_URL="$(json_get "$servers" influx.url)"
  INFLUXDB_ORG="$(json_get "$servers" influx.org)"
  REDIS_URL="$(json_get "$servers" redis.url)"
  MQTT_URL="$(json_get "$servers" mqtt.url)"
  INFLUXDB_TOKENS_DIR="$LOCAL_DIR/tokens"
  export INFLUXDB_URL INFLUXDB_ORG REDIS_URL MQTT_URL INFLUXDB_TOKENS_DIR
  # The local broker lets anyone in; credentials meant for another broker would only confuse.
  unset MQTT_USERNAME MQTT_PASSWORD MQTT_PASSWORD_FILE MQTT_TLS_CA_FILE
  log "InfluxDB $INFLUXDB_URL, Redis $REDIS_URL, Mosquitto $MQTT_URL"

  log "creating buckets, tasks and tokens (influxdb/scripts/init.sh)"
  if ! INFLUX_HOST="$INFLUXDB_URL" INFLUX_TOKEN="$(json_get "$servers" influx.token)" \
    bash influxdb/scripts/init.sh >"$LOG_DIR/influxdb-init.log" 2>&1; then
    tail -n 20 "$LOG_DIR/influxdb-init.log" >&2
    die "influxdb/scripts/init.sh failed; its log: $LOG_DIR/influxdb-init.log"
  fi

  spawn comed "$LOG_DIR/comed.json" "${TSX[@]}" collector/src/cli/main.ts comed-server
  COMED_API_URL="$(json_get "$(first_line "$LOG_DIR/comed.json" 60)" url)"
  # The stand-in answers at once: a short history and no pause between its pieces.
  PRICE_BACKFILL_DAYS="${PRICE_BACKFILL_DAYS:-7}"
  COMED_PIECE_SPACING_MS="${COMED_PIECE_SPACING_MS:-0}"
  export COMED_API_URL PRICE_BACKFILL_DAYS COMED_PIECE_SPACING_MS

  spawn simulator "$LOG_DIR/simulator.json" "${TSX[@]}" collector/src/cli/main.ts simulate \
    --chargers "${SIM_CHARGERS:-2}" --scenario "${SIM_SCENARIO:-session}" --speed "${SIM_SPEED:-1}"
  chargers="$(first_line "$LOG_DIR/simulator.json" 60)"
  # shellcheck disable=SC2016 # JavaScript's template literal, not the shell's
  CHARGERS="$(node -e '
    const { chargers } = JSON.parse(process.argv[1]);
    process.stdout.write(chargers.map(({ name, host }) => `${name}=${host}`).join(","));
  ' "$chargers")"
  # The collector dates samples by the simulator's clock, which runs SIM_SPEED times faster.
  clock="$(curl --silent --show-error --fail "http://$(json_get "$chargers" chargers.0.host)/sim/clock")" ||
    die "the simulator does not answer /sim/clock"
  SIM_CLOCK_SIM_START_MS="$(json_get "$clock" simStartMs)"
  SIM_CLOCK_REAL_START_MS="$(json_get "$clock" realStartMs)"
  SIM_CLOCK_ACCELERATION="$(json_get "$clock" acceleration)"
  export CHARGERS SIM_CLOCK_SIM_START_MS SIM_CLOCK_REAL_START_MS SIM_CLOCK_ACCELERATION
  log "simulated chargers: $CHARGERS (speed ${SIM_SPEED:-1})"
  API_HOST="${API_HOST:-127.0.0.1}"
fi

# --- the services ------------------------------------------------------------------

# Without these the services would look for compose's hosts "influxdb" and "redis".
[ -n "${INFLUXDB_URL:-}" ] || die "INFLUXDB_URL is not set (in $ENV_FILE or the environment), e.g. http://127.0.0.1:8086"
[ -n "${REDIS_URL:-}" ] || die "REDIS_URL is not set (in $ENV_FILE or the environment), e.g. redis://127.0.0.1:6379"

token_env() { # SERVICE -> env arguments giving it its InfluxDB token
  if [ -n "${INFLUXDB_TOKENS_DIR:-}" ]; then
    [ -s "$INFLUXDB_TOKENS_DIR/$1.token" ] || die "$INFLUXDB_TOKENS_DIR/$1.token is missing: run influxdb/scripts/init.sh"
    printf '%s\n' -u INFLUXDB_TOKEN "INFLUXDB_TOKEN_FILE=$INFLUXDB_TOKENS_DIR/$1.token"
  elif [ -n "${INFLUXDB_TOKEN:-}${INFLUXDB_TOKEN_FILE:-}" ]; then
    printf '%s\n' "INFLUXDB_TOKEN_FILE=${INFLUXDB_TOKEN_FILE:-}"
  else
    die "no InfluxDB token: set INFLUXDB_TOKENS_DIR (init.sh's token files) or INFLUXDB_TOKEN"
  fi
}

mkdir -p "$LOCAL_DIR/collector" "$LOCAL_DIR/comed-poller" "$LOCAL_DIR/api"
mapfile -t poller_token < <(token_env comed-poller)
mapfile -t collector_token < <(token_env collector)
mapfile -t api_token < <(token_env api)
if [ ${#poller_token[@]} -eq 0 ] || [ ${#collector_token[@]} -eq 0 ] || [ ${#api_token[@]} -eq 0 ]; then
  die "no InfluxDB token for the services"
fi

spawn comed-poller "$LOG_DIR/comed-poller.log" env "${poller_token[@]}" \
  SPOOL_DIR="$LOCAL_DIR/comed-poller/spool" SPOOL_MAX_MB="${POLLER_SPOOL_MAX_MB:-${SPOOL_MAX_MB:-}}" \
  PRICE_STATE_FILE="$LOCAL_DIR/comed-poller/price-backfill.json" HEALTH_PORT="${POLLER_HEALTH_PORT:-8082}" \
  "${TSX[@]}" collector/src/comed-poller/main.ts

spawn collector "$LOG_DIR/collector.log" env "${collector_token[@]}" \
  SPOOL_DIR="$LOCAL_DIR/collector/spool" SPOOL_MAX_MB="${COLLECTOR_SPOOL_MAX_MB:-${SPOOL_MAX_MB:-}}" \
  HEALTH_PORT="${HEALTH_PORT:-8081}" \
  "${TSX[@]}" collector/src/collector/main.ts

API_PORT="${API_PORT:-8000}"
spawn api "$LOG_DIR/api.log" env "${api_token[@]}" \
  API_PORT="$API_PORT" API_HOST="${API_HOST:-}" REPORTS_DIR="$LOCAL_DIR/api/reports" \
  "${TSX[@]}" api/src/server.ts

api_index=$((${#PIDS[@]} - 1))
deadline=$((SECONDS + 120))
until curl --silent --fail --output /dev/null "http://127.0.0.1:$API_PORT/health"; do
  running "$api_index" || died "$api_index"
  [ "$SECONDS" -lt "$deadline" ] || die "the API does not answer on port $API_PORT after 120 s"
  pause 0.5
done
echo "ready: http://127.0.0.1:$API_PORT/"
log "live status page: http://127.0.0.1:$API_PORT/ (Ctrl-C stops everything)"

# --- until a signal, or until a process ends on its own ---------------------------

for (( ; ; )); do
  for i in "${!PIDS[@]}"; do
    running "$i" || died "$i"
  done
  pause 1
done
