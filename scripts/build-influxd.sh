#!/usr/bin/env bash
# Builds the InfluxDB 2.x OSS server (influxd) that the tests run, from its Go
# module and from libflux (Rust) at the flux version that influxdb requires.
# No registry we can reach ships an influxd binary, so the test set-up compiles
# one and caches it under ~/.cache, keyed by version: only a new machine pays.
#
# Prints the path of the binary on stdout; progress goes to stderr.
set -euo pipefail

INFLUXDB_VERSION="${INFLUXDB_VERSION:-v2.8.0}"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/twc-dashboard/influxd"
OUT_DIR="$CACHE_ROOT/$INFLUXDB_VERSION"
OUT="$OUT_DIR/influxd"

log() { printf '[build-influxd] %s\n' "$*" >&2; }

if [ -x "$OUT" ] && "$OUT" version >/dev/null 2>&1; then
  log "reusing $OUT"
  echo "$OUT"
  exit 0
fi

# Two test runs at once on a new machine build once: the second waits for the
# first and then reuses its binary.
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.lock"
flock 9
if [ -x "$OUT" ] && "$OUT" version >/dev/null 2>&1; then
  log "reusing $OUT (built while waiting)"
  echo "$OUT"
  exit 0
fi

for tool in go cargo cc; do
  command -v "$tool" >/dev/null || { log "missing $tool: install Go, Rust (cargo) and a C compiler"; exit 1; }
done
if ! command -v pkg-config >/dev/null; then
  log "installing pkg-config"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq pkg-config >&2
fi

started=$(date +%s)
WORK="$(mktemp -d)"
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT

module_dir() { # module@version -> read-only directory in the module cache
  GOFLAGS=-mod=mod go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

log "fetching github.com/influxdata/influxdb/v2@$INFLUXDB_VERSION"
influx_src="$(module_dir "github.com/influxdata/influxdb/v2@$INFLUXDB_VERSION")"
[ -n "$influx_src" ] || { log "could not download influxdb $INFLUXDB_VERSION"; exit 1; }
# influxdb's go.mod carries a replace directive, which `go install mod@version`
# refuses; building inside a writable copy of the module keeps its exact go.sum.
cp -r "$influx_src" "$WORK/influxdb"
chmod -R u+w "$WORK/influxdb"

flux_version="$(cd "$WORK/influxdb" && go list -m -f '{{.Version}}' github.com/influxdata/flux)"
log "fetching github.com/influxdata/flux@$flux_version (libflux)"
flux_src="$(module_dir "github.com/influxdata/flux@$flux_version")"
# libflux's build script compiles the Flux stdlib from ../../stdlib, so the
# whole module is copied; its rust-toolchain.toml goes, or rustup would try to
# download the pinned (old) toolchain instead of using the machine's.
cp -r "$flux_src" "$WORK/flux"
chmod -R u+w "$WORK/flux"
rm -f "$WORK/flux/rust-toolchain.toml"

log "building libflux with cargo (several minutes on a cold machine)"
# libflux sets deny(warnings); newer Rust releases add lints that would fail it.
# Its compiler warnings (hundreds, from newer lints) go to a log shown only on failure.
if ! (cd "$WORK/flux/libflux" && RUSTFLAGS="--cap-lints=warn" cargo build --release >"$WORK/cargo.log" 2>&1); then
  tail -n 60 "$WORK/cargo.log" >&2
  log "libflux build failed"
  exit 1
fi

mkdir -p "$WORK/lib" "$WORK/pkgconfig"
cp "$WORK/flux/libflux/target/release/libflux.a" "$WORK/lib/"
cat >"$WORK/pkgconfig/flux.pc" <<PC
Name: flux
Description: The Flux language runtime (libflux)
Version: ${flux_version#v}
Cflags: -I$WORK/flux/libflux/include
Libs: -L$WORK/lib -lflux -ldl -lm -lpthread
PC

log "building influxd $INFLUXDB_VERSION with go"
mkdir -p "$OUT_DIR"
(cd "$WORK/influxdb" && \
  PKG_CONFIG_PATH="$WORK/pkgconfig" CGO_ENABLED=1 GOFLAGS=-mod=mod \
  go build -tags sqlite_foreign_keys,sqlite_json \
    -ldflags "-s -w -X main.version=${INFLUXDB_VERSION#v} -X main.commit=module" \
    -o "$OUT.partial" ./cmd/influxd)
mv "$OUT.partial" "$OUT"
"$OUT" version >&2
log "built in $(( $(date +%s) - started )) s"
echo "$OUT"
