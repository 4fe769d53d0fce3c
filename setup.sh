#!/usr/bin/env bash
# Sets up the TWC dashboard stack on Linux or macOS: checks Docker, asks for
# the chargers, the time zone and the tariff, writes .env (mode 600) with
# freshly generated secrets, then starts the stack and waits until every
# service is healthy.
#
# Safe to run again: settings already in .env are offered as the defaults,
# and a secret that is set is never replaced (InfluxDB and Grafana keep the
# first ones in their volumes, so a new value would lock the services out).
#
#   ./setup.sh                          asks its questions
#   ./setup.sh --non-interactive --chargers garage=192.168.1.50 --timezone America/Chicago
#   ./setup.sh --demo                   simulated chargers, no Wall Connector needed
#   ./setup.sh --help                   every option
#
# Written for bash 3.2, the version macOS ships.
set -euo pipefail
cd "$(dirname "$0")"

ENV_FILE=.env
EXAMPLE_FILE=.env.example
OVERRIDE_FILE=docker-compose.override.yml
DEMO_CHARGERS='demo-1=simulator:9101,demo-2=simulator:9102'
WAIT_TIMEOUT_S="${TWC_SETUP_WAIT_S:-600}"

usage() {
  cat <<'EOF'
usage: ./setup.sh [options]

  --non-interactive        ask nothing; take the options below and what .env already holds
  --chargers LIST          name=host[:port] pairs, comma separated (garage=192.168.1.50,barn=192.168.1.51)
  --timezone ZONE          IANA time zone (default America/Chicago)
  --delivery-cents N       tariff: delivery, cents per kWh
  --other-cents N          tariff: riders and per-kWh taxes, cents per kWh
  --tax-percent N          tariff: percentage tax on the whole amount
  --monthly-fixed-usd N    tariff: fixed charges per month, dollars
  --flat-rate-cents N      tariff: ComEd's fixed-price supply all-in, cents per kWh
  --auth MODE              API access: none, apikey or jwt
  --demo                   run the charger simulator (profile demo) and poll it
  --host-metrics           also collect this machine's metrics (profile host-metrics)
  --expose-mqtt            publish MQTT port 1883 for Home Assistant on another machine
  --probe                  check each charger's address before starting (asked when interactive)
  --no-start               write .env only; do not build or start anything
  -h, --help               this text
EOF
}

say() { printf '%s\n' "$*"; }
warn() { printf 'setup: %s\n' "$*" >&2; }
die() {
  printf 'setup: %s\n' "$*" >&2
  exit 1
}

# --- options -----------------------------------------------------------------

interactive=1
opt_chargers=''
opt_timezone=''
opt_auth=''
opt_demo=0
opt_host_metrics=0
opt_expose_mqtt=0
opt_probe=''
opt_start=1
tariff_keys='TARIFF_DELIVERY_CENTS_KWH TARIFF_OTHER_CENTS_KWH TARIFF_TAX_PERCENT TARIFF_MONTHLY_FIXED_USD TARIFF_FLAT_RATE_CENTS_KWH'
opt_delivery=''
opt_other=''
opt_tax=''
opt_fixed=''
opt_flat=''

tariff_option() { # KEY -> the value given on the command line
  case "$1" in
    TARIFF_DELIVERY_CENTS_KWH) printf '%s' "$opt_delivery" ;;
    TARIFF_OTHER_CENTS_KWH) printf '%s' "$opt_other" ;;
    TARIFF_TAX_PERCENT) printf '%s' "$opt_tax" ;;
    TARIFF_MONTHLY_FIXED_USD) printf '%s' "$opt_fixed" ;;
    TARIFF_FLAT_RATE_CENTS_KWH) printf '%s' "$opt_flat" ;;
  esac
}

need_value() {
  if [ $# -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value (see --help)"; fi
}

while [ $# -gt 0 ]; do
  case "$1" in
    --non-interactive) interactive=0 ;;
    --chargers) need_value "$@" && opt_chargers="$2" && shift ;;
    --timezone) need_value "$@" && opt_timezone="$2" && shift ;;
    --delivery-cents) need_value "$@" && opt_delivery="$2" && shift ;;
    --other-cents) need_value "$@" && opt_other="$2" && shift ;;
    --tax-percent) need_value "$@" && opt_tax="$2" && shift ;;
    --monthly-fixed-usd) need_value "$@" && opt_fixed="$2" && shift ;;
    --flat-rate-cents) need_value "$@" && opt_flat="$2" && shift ;;
    --auth) need_value "$@" && opt_auth="$2" && shift ;;
    --demo) opt_demo=1 ;;
    --host-metrics) opt_host_metrics=1 ;;
    --expose-mqtt) opt_expose_mqtt=1 ;;
    --probe) opt_probe=1 ;;
    --no-start) opt_start=0 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done

if [ "$interactive" = 1 ] && ! [ -t 0 ]; then
  die 'no terminal to ask questions on: run with --non-interactive and options (see --help)'
fi

# --- validation (the services check again at start, with the same rules) -----

# CHARGERS as collector/src/collector/config.ts parses it: name=host[:port]
# pairs; a name holds letters, digits, _ . - and appears once.
valid_chargers() {
  local list="$1" entry name host names=' ' count=0
  list="$(printf '%s' "$list" | tr ',;' '  ')"
  for entry in $list; do
    case "$entry" in
      *=*)
        name="${entry%%=*}"
        host="${entry#*=}"
        ;;
      *)
        name="$entry"
        host="$entry"
        ;;
    esac
    if [ -z "$name" ] || [ -z "$host" ]; then
      warn "\"$entry\" is not name=host"
      return 1
    fi
    [[ "$name" =~ ^[A-Za-z0-9_.-]+$ ]] || {
      warn "charger name \"$name\" may only hold letters, digits, _ . -"
      return 1
    }
    [[ "$host" =~ ^[A-Za-z0-9_.:-]+$ ]] || {
      warn "\"$host\" is not a host name or address"
      return 1
    }
    case "$names" in *" $name "*)
      warn "charger name \"$name\" appears twice"
      return 1
      ;;
    esac
    names="$names$name "
    count=$((count + 1))
  done
  [ "$count" -gt 0 ] || {
    warn 'name at least one charger'
    return 1
  }
}

valid_timezone() {
  [[ "$1" =~ ^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$ ]] || return 1
  # Where the system has the zone database, the name must be in it.
  if [ -d /usr/share/zoneinfo ]; then
    [ -f "/usr/share/zoneinfo/$1" ] || return 1
  fi
}

valid_number() { [[ "$1" =~ ^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)$ ]]; }

valid_auth() { case "$1" in none | apikey | jwt) return 0 ;; *) return 1 ;; esac }

# --- .env --------------------------------------------------------------------

WORK_ENV="$(mktemp "${TMPDIR:-/tmp}/twc-env.XXXXXX")"
trap 'rm -f "$WORK_ENV" "$WORK_ENV.next"' EXIT
if [ -f "$ENV_FILE" ]; then
  cat "$ENV_FILE" >"$WORK_ENV"
elif [ -f "$EXAMPLE_FILE" ]; then
  cat "$EXAMPLE_FILE" >"$WORK_ENV"
else
  die "$EXAMPLE_FILE is missing: run this script from the project's folder"
fi

# The value of KEY in the working copy ('' when unset or commented out).
get_env() { sed -n "s/^$1=//p" "$WORK_ENV" | tail -n 1; }

# Sets KEY=VALUE in place of the active line, else of the commented default
# (`# KEY=...`), else at the end. Values pass through the environment, so no
# character in them is special to awk.
set_env() {
  TWC_KEY="$1" TWC_VALUE="$2" awk '
    BEGIN { key = ENVIRON["TWC_KEY"]; line = key "=" ENVIRON["TWC_VALUE"] }
    { lines[NR] = $0 }
    index($0, key "=") == 1 { active = NR }
    index($0, "# " key "=") == 1 && !commented { commented = NR }
    END {
      at = active ? active : commented
      for (i = 1; i <= NR; i++) print (i == at ? line : lines[i])
      if (!at) print line
    }' "$WORK_ENV" >"$WORK_ENV.next"
  cat "$WORK_ENV.next" >"$WORK_ENV"
}

# Letters and digits only: safe unquoted in .env, in URLs and in shell.
random_secret() { # LENGTH
  local value
  value="$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom 2>/dev/null | head -c "$1" || true)"
  [ "${#value}" = "$1" ] || die 'could not read random bytes from /dev/urandom'
  printf '%s' "$value"
}

ask() { # PROMPT DEFAULT -> answer on stdout
  local answer
  if [ -n "$2" ]; then
    printf '%s [%s]: ' "$1" "$2" >&2
  else
    printf '%s: ' "$1" >&2
  fi
  IFS= read -r answer || answer=''
  printf '%s' "${answer:-$2}"
}

ask_yes() { # PROMPT DEFAULT(y|n)
  local answer
  answer="$(ask "$1 (y/n)" "$2")"
  case "$answer" in y | Y | yes | Yes) return 0 ;; *) return 1 ;; esac
}

# --- Docker --------------------------------------------------------------------

check_docker() {
  command -v docker >/dev/null 2>&1 || die 'Docker is not installed: see docs/REQUIREMENTS.md'
  docker info >/dev/null 2>&1 || die 'Docker is installed but not running, or this user may not use it (add it to the docker group, or run with sudo)'
  local version
  version="$(docker compose version --short 2>/dev/null || true)"
  version="${version#v}"
  case "$version" in
    2.* | [3-9].*) ;;
    *) die "Docker Compose v2 (the 'docker compose' plugin) is needed: see docs/REQUIREMENTS.md" ;;
  esac
}

# --- questions -------------------------------------------------------------------

configure_chargers() {
  local current chargers
  current="$(get_env CHARGERS)"
  if [ -n "$opt_chargers" ]; then
    chargers="$opt_chargers"
  elif [ "$opt_demo" = 1 ]; then
    chargers="$DEMO_CHARGERS"
  elif [ "$interactive" = 1 ]; then
    say ''
    say 'Your Wall Connectors: name=address pairs, comma separated, e.g. garage=192.168.1.50.'
    say "The address is on the charger's Wi-Fi network; its DHCP name looks like teslawallconnector_*."
    while :; do
      chargers="$(ask 'Chargers' "$current")"
      valid_chargers "$chargers" && break
    done
  else
    chargers="$current"
  fi
  [ -n "$chargers" ] || die 'no chargers: pass --chargers name=host[,name=host...] (or --demo)'
  valid_chargers "$chargers" || die "--chargers: fix the list above"
  set_env CHARGERS "$chargers"
}

configure_timezone() {
  local zone
  zone="${opt_timezone:-$(get_env TIMEZONE)}"
  zone="${zone:-America/Chicago}"
  if [ "$interactive" = 1 ] && [ -z "$opt_timezone" ]; then
    while :; do
      zone="$(ask 'Time zone (IANA name)' "$zone")"
      valid_timezone "$zone" && break
      warn "\"$zone\" is not a time zone name like America/Chicago"
    done
  fi
  valid_timezone "$zone" || die "\"$zone\" is not a time zone name like America/Chicago"
  set_env TIMEZONE "$zone"
}

configure_tariff() {
  local key value example documented
  if [ "$interactive" = 1 ]; then
    say ''
    say 'Tariff: what a kWh costs on top of the ComEd supply price. Enter keeps the value shown;'
    say 'the values in brackets are rough 2025 figures: check them against your bill.'
  fi
  for key in $tariff_keys; do
    value="$(tariff_option "$key")"
    if [ -z "$value" ] && [ "$interactive" = 1 ]; then
      documented="$(sed -n "s/^# $key=//p" "$EXAMPLE_FILE" 2>/dev/null | head -n 1)"
      example="$(get_env "$key")"
      while :; do
        value="$(ask "  $key" "${example:-$documented}")"
        if [ -z "$value" ] || valid_number "$value"; then break; fi
        warn "$key: expected a number"
      done
      # Unchanged from the documented default: leave the line commented, so
      # the code's default keeps applying.
      if [ -z "$example" ] && [ "$value" = "$documented" ]; then value=''; fi
    fi
    [ -n "$value" ] || continue
    valid_number "$value" || die "$key: \"$value\" is not a number"
    set_env "$key" "$value"
  done
}

configure_auth() {
  local mode
  mode="${opt_auth:-$(get_env AUTH_MODE)}"
  if [ -n "$mode" ]; then
    valid_auth "$mode" || die "--auth: expected none, apikey or jwt, got \"$mode\""
    set_env AUTH_MODE "$mode"
  fi
}

configure_profiles() {
  local profiles wanted
  profiles="$(get_env COMPOSE_PROFILES)"
  for wanted in demo host-metrics; do
    case "$wanted" in
      demo) [ "$opt_demo" = 1 ] || continue ;;
      host-metrics) [ "$opt_host_metrics" = 1 ] || continue ;;
    esac
    case ",$profiles," in *",$wanted,"*) ;; *) profiles="${profiles:+$profiles,}$wanted" ;; esac
  done
  [ -z "$profiles" ] || set_env COMPOSE_PROFILES "$profiles"
}

# Each secret once: an existing value is kept, whatever its origin.
generate_secrets() {
  local entry key length
  for entry in INFLUXDB_ADMIN_PASSWORD:32 INFLUXDB_ADMIN_TOKEN:48 GRAFANA_ADMIN_PASSWORD:24 \
    JWT_SECRET:48 API_KEYS:40 MQTT_PASSWORD:32; do
    key="${entry%%:*}"
    length="${entry#*:}"
    [ -n "$(get_env "$key")" ] || set_env "$key" "$(random_secret "$length")"
  done
}

write_env() {
  if [ -f "$ENV_FILE" ] && cmp -s "$WORK_ENV" "$ENV_FILE"; then
    chmod 600 "$ENV_FILE"
    say "$ENV_FILE is up to date."
    return
  fi
  (
    umask 077
    cat "$WORK_ENV" >"$ENV_FILE.partial"
  )
  chmod 600 "$ENV_FILE.partial"
  mv "$ENV_FILE.partial" "$ENV_FILE"
  say "Wrote $ENV_FILE (readable by you only)."
}

write_mqtt_override() {
  [ "$opt_expose_mqtt" = 1 ] || return 0
  if [ -f "$OVERRIDE_FILE" ]; then
    grep -q '1883' "$OVERRIDE_FILE" || warn "$OVERRIDE_FILE exists: add the mosquitto port 1883 to it yourself (docs/SETUP.md)"
    return 0
  fi
  cat >"$OVERRIDE_FILE" <<'EOF'
# Written by ./setup.sh --expose-mqtt: publishes the MQTT broker so Home
# Assistant on another machine can connect (user MQTT_USERNAME, password
# MQTT_PASSWORD from .env). Delete this file to keep MQTT internal.
services:
  mosquitto:
    ports:
      - 1883:1883
EOF
  say "Wrote $OVERRIDE_FILE: MQTT is published on port 1883."
}

# --- start -------------------------------------------------------------------

probe_chargers() {
  local list entry host
  list="$(get_env CHARGERS | tr ',;' '  ')"
  say ''
  say 'Building the collector image to probe the chargers (the first build takes a few minutes)...'
  docker compose build collector
  for entry in $list; do
    host="${entry#*=}"
    say "Probing $host ..."
    if docker compose run --rm --no-deps collector dist/cli/main.js probe "$host"; then
      say "  $host answers like a Wall Connector."
    else
      warn "$host did not answer as a Wall Connector: check the address (the collector keeps retrying it)."
    fi
  done
}

container_health() { # SERVICE -> healthy | starting | unhealthy | none | missing
  local id
  id="$(docker compose ps -q "$1" 2>/dev/null | head -n 1)"
  [ -n "$id" ] || {
    echo missing
    return
  }
  docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$id" 2>/dev/null || echo missing
}

wait_healthy() {
  local services service status pending waited=0
  services="$(docker compose config --services)"
  say "Waiting for the services to become healthy (up to $((WAIT_TIMEOUT_S / 60)) minutes; the first start of InfluxDB takes a while)..."
  while :; do
    pending=''
    for service in $services; do
      status="$(container_health "$service")"
      [ "$status" = healthy ] || pending="$pending $service($status)"
    done
    [ -n "$pending" ] || return 0
    if [ "$waited" -ge "$WAIT_TIMEOUT_S" ]; then
      warn "not healthy after ${WAIT_TIMEOUT_S}s:$pending"
      warn "see ./scripts/verify.sh and 'docker compose logs <service>'; docs/SETUP.md has a troubleshooting section"
      return 1
    fi
    sleep 5
    waited=$((waited + 5))
  done
}

host_address() {
  local address=''
  if command -v hostname >/dev/null 2>&1; then
    address="$(hostname -I 2>/dev/null | awk '{print $1}' || true)"
  fi
  if [ -z "$address" ] && command -v ipconfig >/dev/null 2>&1; then
    address="$(ipconfig getifaddr en0 2>/dev/null || true)"
  fi
  printf '%s' "${address:-localhost}"
}

print_summary() {
  local address grafana_port api_port grafana_user
  address="$(host_address)"
  grafana_port="$(get_env GRAFANA_PORT)"
  api_port="$(get_env API_PORT)"
  grafana_user="$(get_env GRAFANA_ADMIN_USER)"
  say ''
  say 'The TWC dashboard is running:'
  say "  Grafana   http://$address:${grafana_port:-3000}/   user ${grafana_user:-admin}, password in .env (GRAFANA_ADMIN_PASSWORD)"
  say "  API       http://$address:${api_port:-8000}/"
  say ''
  say 'Check it any time with ./scripts/verify.sh; back it up with ./scripts/backup.sh.'
}

# --- main ----------------------------------------------------------------------

if [ "$opt_start" = 1 ] || [ "$opt_probe" = 1 ]; then
  check_docker
fi

[ "$interactive" = 0 ] || say 'Setting up the TWC dashboard. Enter keeps the value in brackets.'
configure_chargers
configure_timezone
configure_tariff
configure_auth
configure_profiles
generate_secrets
write_env
write_mqtt_override
mkdir -p config

if [ "$interactive" = 1 ] && [ -z "$opt_probe" ] && [ "$opt_demo" = 0 ]; then
  if ask_yes 'Probe each charger now?' y; then opt_probe=1; fi
fi
[ "$opt_probe" != 1 ] || probe_chargers

[ "$opt_start" = 1 ] || {
  say 'Not starting (--no-start). Start with: docker compose up -d --build'
  exit 0
}

say ''
say 'Building and starting the stack...'
docker compose up -d --build --remove-orphans
wait_healthy || exit 1
print_summary
