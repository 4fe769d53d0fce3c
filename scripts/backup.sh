#!/usr/bin/env bash
# Backs up a running stack into backups/twc-<date>/: InfluxDB (influx backup:
# every bucket, task, token and user), InfluxDB's token files, Grafana's
# database (users, preferences, alert state; the dashboards are files in
# grafana/dashboards), and the configuration (.env, docker-compose.override.yml,
# config/). The folder holds every secret: it is made readable by you only.
# Restore with ./scripts/restore.sh backups/twc-<date>.
#
#   ./scripts/backup.sh [target-folder]
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
  echo "backup: $*" >&2
  exit 1
}
[ -f .env ] || die 'no .env here: nothing to back up'
command -v docker >/dev/null 2>&1 || die 'docker is not installed'

target="${1:-backups/twc-$(date +%Y%m%d-%H%M%S)}"
[ ! -e "$target" ] || die "$target exists already"
umask 077
mkdir -p "$target"

echo "Backing up to $target"

# influx backup runs inside the container, with the admin token the image
# was set up with; the archive streams out on stdout.
echo '  InfluxDB ...'
docker compose exec -T influxdb sh -c '
  set -e
  rm -rf /tmp/twc-backup
  influx backup --host http://127.0.0.1:8086 --token "$DOCKER_INFLUXDB_INIT_ADMIN_TOKEN" /tmp/twc-backup >/dev/null
  tar -C /tmp/twc-backup -cf - .
  rm -rf /tmp/twc-backup' >"$target/influxdb.tar" || die 'influx backup failed: is the stack running? (docker compose ps)'
docker compose exec -T influxdb sh -c 'tar -C "$INFLUXDB_TOKENS_DIR" -cf - .' >"$target/influxdb-tokens.tar" ||
  die 'could not read the token files'

# Grafana's SQLite database is copied while Grafana is stopped, so the copy
# is consistent; Grafana is down for a few seconds.
echo '  Grafana ...'
docker compose stop grafana >/dev/null
grafana_ok=0
docker compose run --rm --no-deps -T --entrypoint tar grafana -C /var/lib/grafana -cf - grafana.db >"$target/grafana.tar" &&
  grafana_ok=1
docker compose start grafana >/dev/null
[ "$grafana_ok" = 1 ] || die 'could not copy Grafana data'

echo '  configuration ...'
files=(.env)
[ ! -f docker-compose.override.yml ] || files+=(docker-compose.override.yml)
[ ! -d config ] || files+=(config)
tar -cf "$target/config.tar" "${files[@]}"

{
  echo "created=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "influxdb_image=$(docker compose config --images 2>/dev/null | grep '^influxdb:' | head -n 1)"
  echo "git_commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
} >"$target/MANIFEST"

echo "Done: $(du -sh "$target" | cut -f 1) in $target (it holds your secrets: keep it private)."
