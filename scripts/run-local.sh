#!/usr/bin/env bash
# Runs the collector, the comed-poller, the API and the Home Assistant bridge as
# plain Node processes, for a machine without Docker. Grafana is the one part of the stack left out.
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
#                             (unset: no bridge)
# and, for both modes:
#   TWC_LOCAL_DIR             spools, price backfill progress, reports and logs; with --demo also
#                             the servers' data and the tokens (mode 600)
#                             [~/.local/share/twc-dashboard; --demo: a new temporary directory]
#   API_PORT [8000]  API_HOST [API's default; --demo: 127.0.0.1]  HEALTH_PORT [8081] (collector)
#   POLLER_HEALTH_PORT [8082] (comed-poller)  BRIDGE_HEALTH_PORT [8083] (homeassistant-bridge)
#   PLANNER_HEALTH_PORT [8084] (planner; with --demo it commands the simulated cars)
# --demo only:
#   SIM_CHARGERS [2]  SIM_SCENARIO [session]  SIM_SPEED [1] (simulated seconds per real second;
#   the collector dates samples by the simulator's clock, read from its /sim/clock)
#
# Ctrl-C or SIGTERM stops everything and exits 0: the services first (they
# flush buffered points), then the ComEd stand-in, the simulator and the
# servers. Any process ending on its own stops the rest and exits 1. The work
# is done by local-stack/src/main.ts, the starter the end-to-end suite and the
# benchmarks use too; this script loads the settings and runs it.
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
command -v setsid >/dev/null || die "setsid is missing (util-linux)"
if [ "$DEMO" = 1 ]; then
  command -v curl >/dev/null || die "curl is missing (influxdb/scripts/init.sh uses it)"
fi
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

# --- the stack -------------------------------------------------------------------

# local-stack/src/main.ts starts the processes, waits for each to be ready and
# stops them in order. It runs in a process group of its own (setsid), with
# everything it starts, so a terminal's Ctrl-C reaches only this script, which
# hands it on as one SIGTERM: the services then stop first and flush.
args=(--env-file "$ENV_FILE")
[ "$DEMO" = 0 ] || args+=(--demo)
starter=""
interrupted=0
# shellcheck disable=SC2317 # run by the trap below, which shellcheck does not follow
forward() {
  interrupted=1
  [ -z "$starter" ] || kill -TERM "$starter" 2>/dev/null || true
}
trap forward TERM INT
setsid node --import tsx --conditions=twc-source local-stack/src/main.ts "${args[@]}" </dev/null &
starter=$!
# Whatever the starter left behind (were it killed) is in its process group.
trap 'kill -KILL -- "-$starter" 2>/dev/null || true' EXIT

# A signal interrupts `wait`; the starter is then still stopping: wait again.
for (( ; ; )); do
  interrupted=0
  status=0
  wait "$starter" || status=$?
  [ "$interrupted" = 1 ] || break
done
exit "$status"
