#!/usr/bin/env bash
# Restores a backup made by ./scripts/backup.sh, on this machine or a new
# one: the configuration first (unless --keep-config), then InfluxDB's data,
# tokens and users, then Grafana's database, then starts the whole stack.
# InfluxDB's current data is REPLACED.
#
#   ./scripts/restore.sh [--yes] [--keep-config] backups/twc-<date>
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
  echo "restore: $*" >&2
  exit 1
}
yes=0
keep_config=0
source_dir=''
while [ $# -gt 0 ]; do
  case "$1" in
    --yes) yes=1 ;;
    --keep-config) keep_config=1 ;;
    -*) die "unknown option $1" ;;
    *) source_dir="$1" ;;
  esac
  shift
done
[ -n "$source_dir" ] || die 'usage: ./scripts/restore.sh [--yes] [--keep-config] <backup folder>'
for file in influxdb.tar influxdb-tokens.tar grafana.tar config.tar; do
  [ -s "$source_dir/$file" ] || die "$source_dir/$file is missing: not a complete backup"
done
command -v docker >/dev/null 2>&1 || die 'docker is not installed'

if [ "$yes" = 0 ]; then
  printf 'This replaces the InfluxDB data and Grafana database of this stack with %s. Continue? (y/n) ' "$source_dir"
  read -r answer
  case "$answer" in y | Y | yes) ;; *) die 'stopped; nothing changed' ;; esac
fi

if [ "$keep_config" = 0 ]; then
  echo 'Restoring the configuration (.env, overrides, config/) ...'
  (umask 077 && tar -xf "$source_dir/config.tar")
  chmod 600 .env
fi
[ -f .env ] || die 'no .env: restore without --keep-config, or run ./setup.sh first'

wait_healthy() { # SERVICE
  local id waited=0
  while :; do
    id="$(docker compose ps -q "$1" | head -n 1)"
    if [ -n "$id" ] && [ "$(docker inspect --format '{{.State.Health.Status}}' "$id" 2>/dev/null)" = healthy ]; then return 0; fi
    [ "$waited" -lt 600 ] || die "$1 did not become healthy: see 'docker compose logs $1'"
    sleep 5
    waited=$((waited + 5))
  done
}

echo 'Starting InfluxDB ...'
docker compose stop collector comed-poller api grafana >/dev/null 2>&1 || true
docker compose up -d influxdb
wait_healthy influxdb

echo 'Restoring InfluxDB (influx restore --full) ...'
# --full replaces every bucket, task, user and token with the backup's, so the
# admin token in the restored .env is the one that works afterwards.
docker compose exec -T influxdb sh -c '
  set -e
  rm -rf /tmp/twc-restore && mkdir -p /tmp/twc-restore
  tar -C /tmp/twc-restore -xf -
  influx restore --host http://127.0.0.1:8086 --token "$DOCKER_INFLUXDB_INIT_ADMIN_TOKEN" --full /tmp/twc-restore >/dev/null
  rm -rf /tmp/twc-restore' <"$source_dir/influxdb.tar"
docker compose exec -T influxdb sh -c 'tar -C "$INFLUXDB_TOKENS_DIR" -xf -' <"$source_dir/influxdb-tokens.tar"

echo 'Restoring Grafana ...'
docker compose run --rm --no-deps -T --entrypoint tar grafana -C /var/lib/grafana -xf - <"$source_dir/grafana.tar"

echo 'Starting the stack ...'
docker compose up -d
echo 'Restored. Check it with ./scripts/verify.sh'
