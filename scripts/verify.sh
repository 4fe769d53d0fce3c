#!/usr/bin/env bash
# Checks a running stack service by service and says what is wrong, with a
# hint where to look. Exit status 0 when everything answers, 1 otherwise.
#
#   ./scripts/verify.sh
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

failures=0
pass() { printf '  ok    %-13s %s\n' "$1" "$2"; }
fail() {
  printf '  FAIL  %-13s %s\n' "$1" "$2"
  failures=$((failures + 1))
}
info() { printf '        %-13s %s\n' '' "$1"; }

command -v docker >/dev/null 2>&1 || {
  echo 'verify: docker is not installed' >&2
  exit 1
}
[ -f .env ] || {
  echo 'verify: no .env here: run ./setup.sh first' >&2
  exit 1
}
env_value() { sed -n "s/^$1=//p" .env | tail -n 1; }
prefix="$(env_value REDIS_KEY_PREFIX)"
prefix="${prefix:-twc:}"

health() { # SERVICE -> healthy | starting | unhealthy | none | not running
  local id
  id="$(docker compose ps -q "$1" 2>/dev/null | head -n 1)"
  [ -n "$id" ] || {
    echo 'not running'
    return
  }
  docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id" 2>/dev/null ||
    echo 'not running'
}

in_service() { docker compose exec -T "$@" 2>/dev/null; }

# A Node one-liner run inside a service's container: GET a local URL, print the body.
node_get() { # SERVICE URL
  in_service "$1" node -e "fetch('$2').then((r) => r.text().then((t) => { console.log(t); process.exit(r.ok ? 0 : 1); }), () => process.exit(1))"
}

echo 'TWC dashboard: checking each service'
services="$(docker compose config --services 2>/dev/null)" || {
  echo 'verify: docker compose cannot read docker-compose.yml and .env' >&2
  exit 1
}

for service in $services; do
  status="$(health "$service")"
  case "$service" in
    influxdb)
      if [ "$status" = healthy ]; then
        pass influxdb 'answers; buckets and service tokens in place'
      else
        fail influxdb "$status: see 'docker compose logs influxdb' (first start runs influxdb/scripts/init.sh)"
      fi
      ;;
    redis)
      if [ "$(in_service redis redis-cli ping)" = PONG ]; then pass redis 'answers PING'; else fail redis "$status"; fi
      ;;
    mosquitto)
      if [ "$status" = healthy ]; then pass mosquitto 'accepts the MQTT user from .env'; else fail mosquitto "$status: see 'docker compose logs mosquitto'"; fi
      ;;
    grafana)
      if in_service grafana wget -q -O /dev/null http://127.0.0.1:3000/api/health; then
        pass grafana "answers on port $(env_value GRAFANA_PORT | sed 's/^$/3000/')"
      else
        fail grafana "$status: see 'docker compose logs grafana'"
      fi
      ;;
    collector)
      body="$(node_get collector 'http://127.0.0.1:8081/health')"
      if [ -n "$body" ]; then
        pass collector 'running'
        # One line per charger: name, address, online, polls.
        printf '%s' "$body" | in_service collector node -e "
          let s = ''; process.stdin.on('data', (d) => (s += d)).on('end', () => {
            const h = JSON.parse(s);
            for (const c of h.chargers) console.log(c.name + ' ' + c.host + ' ' + (c.online ? 'online' : c.online === false ? 'OFFLINE' : 'not polled yet') + ', ' + c.vitalsPolls + ' polls');
            console.log('influx writes: ' + JSON.stringify(h.writer));
          });" | while IFS= read -r line; do info "$line"; done
        if printf '%s' "$body" | grep -q '"online":false'; then
          fail chargers 'a charger is offline: check its power, Wi-Fi and address (docs/SETUP.md, Troubleshooting)'
        fi
      else
        fail collector "$status: see 'docker compose logs collector'"
      fi
      ;;
    comed-poller)
      price="$(in_service redis redis-cli GET "${prefix}price:current")"
      if [ -z "$price" ]; then
        fail comed-poller "no current price in Redis yet ($status): see 'docker compose logs comed-poller'"
      elif printf '%s' "$price" | grep -q '"stale":true'; then
        fail comed-poller 'the latest ComEd price is older than 15 minutes: ComEd may be down, or this machine offline'
      else
        pass comed-poller 'current ComEd price in Redis'
      fi
      ;;
    api)
      if node_get api "http://127.0.0.1:$(env_value API_PORT | sed 's/^$/8000/')/health" >/dev/null; then
        pass api "answers on port $(env_value API_PORT | sed 's/^$/8000/')"
      else
        fail api "$status: see 'docker compose logs api'"
      fi
      ;;
    *)
      if [ "$status" = healthy ]; then pass "$service" healthy; else fail "$service" "$status"; fi
      ;;
  esac
done

if [ "$failures" -gt 0 ]; then
  echo "$failures problem(s) found."
  exit 1
fi
echo 'Everything answers.'
