#!/usr/bin/env bash
# The project's test command: sets up everything a fresh machine needs, then
# runs every test against real servers (InfluxDB 2.x, Redis, Mosquitto) that
# the vitest global set-up starts on loopback and stops afterwards.
#
#   ./scripts/test.sh                 everything: install, lint, typecheck, tests
#   ./scripts/test.sh <vitest args>   only the given tests (set-up still runs)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[test] %s\n' "$*" >&2; }
PNPM_VERSION="$(sed -n 's/.*"packageManager": *"pnpm@\([^"]*\)".*/\1/p' package.json)"

# 1. Debian packages: the servers the tests run, the tools that build influxd,
#    and the real tools some tests drive: Compose (validates docker-compose.yml),
#    ShellCheck, curl (the InfluxDB init script), Chromium (the status page) and
#    poppler (renders the PDF report).
apt_packages=()
need() { # COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || apt_packages+=("$2")
}
need redis-server redis-server
need mosquitto mosquitto
need pkg-config pkg-config
need curl curl
need openssl openssl
need docker-compose docker-compose
need shellcheck shellcheck
need chromium chromium
[ -d /usr/share/fonts/truetype/dejavu ] || apt_packages+=(fonts-dejavu-core)
need pdftoppm poppler-utils
need python3 python3
# schemathesis (the end-to-end suite's API fuzzer) installs into a virtualenv.
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || apt_packages+=(python3-venv)
if [ ${#apt_packages[@]} -gt 0 ]; then
  log "installing ${apt_packages[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi

# 2. pnpm at the version package.json pins, and the workspace's dependencies.
if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  log "installing pnpm $PNPM_VERSION"
  npm install --global --silent "pnpm@$PNPM_VERSION"
fi
pnpm install --frozen-lockfile --reporter=append-only >&2

# 3. influxd, built once per machine and cached under ~/.cache.
TWC_INFLUXD="$(./scripts/build-influxd.sh)"
export TWC_INFLUXD
# schemathesis from PyPI, in a virtualenv cached the same way.
TWC_SCHEMATHESIS="$(./scripts/install-schemathesis.sh)"
export TWC_SCHEMATHESIS

# 4. Static checks, then every test. A failed check does not stop the run:
#    the tests still run, and the closing line counts the check as a failure.
failed_checks=()
if [ $# -eq 0 ]; then
  log "lint"
  pnpm exec biome check . || failed_checks+=(lint)
  log "typecheck"
  pnpm run typecheck || failed_checks+=(typecheck)
fi
log "tests"
# Colour only on a terminal: a log file or a CI page gets plain text (vitest
# colours its summary whenever CI is set, which makes a log hard to read).
if [ ! -t 1 ] && [ -z "${FORCE_COLOR:-}" ]; then export NO_COLOR=1; fi
mkdir -p .test-output
report=.test-output/vitest-report.json
rm -f "$report"
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || true
# Last, after every other tool's output: one plain line, `N passed, N failed`,
# counted from vitest's own report; the exit status says the same.
exec pnpm exec tsx scripts/test-summary.ts "$report" ${failed_checks[@]+"${failed_checks[@]}"}
