#!/usr/bin/env bash
# Installs schemathesis (the OpenAPI fuzzer the end-to-end suite runs against
# the api) from PyPI into a virtualenv cached per version under
# ~/.cache/twc-dashboard/schemathesis/<version>/, once per machine, and prints
# the path of its command-line binary on stdout. Progress goes to stderr.
#
#   TWC_SCHEMATHESIS="$(./scripts/install-schemathesis.sh)"
set -euo pipefail

SCHEMATHESIS_VERSION="4.32.5"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/twc-dashboard/schemathesis"
VENV="$CACHE_ROOT/$SCHEMATHESIS_VERSION"
BIN="$VENV/bin/schemathesis"
# Written last: an interrupted install leaves no marker and is redone.
MARKER="$VENV/.installed"

log() { printf '[schemathesis] %s\n' "$*" >&2; }

if [ -f "$MARKER" ] && [ -x "$BIN" ]; then
  printf '%s\n' "$BIN"
  exit 0
fi

# Two test runs at once must not install into the same virtualenv together:
# the second waits for the first and then finds its install.
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.lock"
flock 9
if [ -f "$MARKER" ] && [ -x "$BIN" ]; then
  printf '%s\n' "$BIN"
  exit 0
fi

PYTHON="${TWC_PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3 python; do
    if command -v "$candidate" >/dev/null 2>&1; then
      PYTHON="$candidate"
      break
    fi
  done
fi
if [ -z "$PYTHON" ]; then
  log "python3 not found: install the Debian packages python3 and python3-venv (or set TWC_PYTHON)"
  exit 1
fi
# schemathesis 4 needs Python 3.9 or later.
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)'; then
  log "$PYTHON is older than 3.9; schemathesis $SCHEMATHESIS_VERSION needs 3.9+"
  exit 1
fi

log "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
rm -rf "$VENV"
mkdir -p "$CACHE_ROOT"
if ! "$PYTHON" -m venv "$VENV" >&2; then
  log "could not create a virtualenv: install the Debian package python3-venv"
  exit 1
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
"$BIN" --version >&2
touch "$MARKER"
printf '%s\n' "$BIN"
