#!/bin/sh
# Builds Grafana's provisioning directory from grafana/provisioning, then
# starts Grafana (the image's /run.sh). Two things Grafana's provisioning
# cannot do by itself:
# - it passes alert rule queries through verbatim, without $VAR expansion,
#   so the thresholds from .env are written into the rules here;
# - a contact point whose URL is empty fails validation and stops all of
#   alerting's provisioning, so only the channels whose settings are present
#   in .env go into the twc-notifications contact point. Their secrets stay
#   ${VAR} references, which Grafana expands in contact point settings.
# With no channel configured, no contact point or policy is written and
# Grafana keeps its default policy.
#
# Environment (defaults in brackets):
#   TWC_GRAFANA_SRC         this directory as mounted [/etc/twc/grafana]
#   GF_PATHS_PROVISIONING   where Grafana reads provisioning [/etc/grafana/provisioning]
#   INFLUXDB_ORG [twc]  GRAFANA_INFLUXDB_TOKEN (required, read-only token)
#   ALERT_HANDLE_TEMP_C [60]  ALERT_PRICE_HIGH_CENTS [10]  ALERT_PRICE_LOW_CENTS [2]
#   ALERT_STALE_MINUTES [10]
#   ALERT_EMAIL_TO, ALERT_SLACK_WEBHOOK_URL, ALERT_DISCORD_WEBHOOK_URL,
#   ALERT_PUSHOVER_USER_KEY + ALERT_PUSHOVER_APP_TOKEN, ALERT_WEBHOOK_URL
#   TWC_PROVISION_ONLY=1    render and exit without starting Grafana
set -eu

SRC="${TWC_GRAFANA_SRC:-/etc/twc/grafana}/provisioning"
# The data source file reads it; Grafana's own expansion knows no defaults.
export INFLUXDB_ORG="${INFLUXDB_ORG:-twc}"
OUT="${GF_PATHS_PROVISIONING:-/etc/grafana/provisioning}"

fail() {
  echo "grafana provisioning: $*" >&2
  exit 1
}

# number NAME DEFAULT: the variable's value, which must be a decimal number.
number() {
  eval "value=\${$1:-}"
  [ -n "$value" ] || value="$2"
  printf '%s\n' "$value" | grep -Eq '^-?[0-9]+(\.[0-9]+)?$' || fail "$1 must be a number, got '$value'"
  printf '%s' "$value"
}

is_set() {
  eval "value=\${$1:-}"
  [ -n "$value" ]
}

handle_temp_c=$(number ALERT_HANDLE_TEMP_C 60)
price_high_cents=$(number ALERT_PRICE_HIGH_CENTS 10)
price_low_cents=$(number ALERT_PRICE_LOW_CENTS 2)
stale_minutes=$(number ALERT_STALE_MINUTES 10)
stale_s=$(awk -v minutes="$stale_minutes" 'BEGIN { print minutes * 60 }')

mkdir -p "$OUT/datasources" "$OUT/dashboards" "$OUT/alerting"
cp "$SRC"/datasources/*.yaml "$OUT/datasources/"
cp "$SRC"/dashboards/*.yaml "$OUT/dashboards/"
# Files left by an earlier start would keep channels that are no longer configured.
rm -f "$OUT"/alerting/twc-*.yaml

sed -e "s/@ALERT_HANDLE_TEMP_C@/$handle_temp_c/g" \
  -e "s/@ALERT_PRICE_HIGH_CENTS@/$price_high_cents/g" \
  -e "s/@ALERT_PRICE_LOW_CENTS@/$price_low_cents/g" \
  -e "s/@ALERT_STALE_S@/$stale_s/g" \
  "$SRC/alerting/rules.yaml.tmpl" >"$OUT/alerting/twc-rules.yaml"
if grep -q '@[A-Z_]*@' "$OUT/alerting/twc-rules.yaml"; then
  fail "a threshold placeholder is left in the alert rules"
fi

channels=""
is_set ALERT_EMAIL_TO && channels="$channels email"
is_set ALERT_SLACK_WEBHOOK_URL && channels="$channels slack"
is_set ALERT_DISCORD_WEBHOOK_URL && channels="$channels discord"
if is_set ALERT_PUSHOVER_USER_KEY || is_set ALERT_PUSHOVER_APP_TOKEN; then
  is_set ALERT_PUSHOVER_USER_KEY && is_set ALERT_PUSHOVER_APP_TOKEN ||
    fail "Pushover needs both ALERT_PUSHOVER_USER_KEY and ALERT_PUSHOVER_APP_TOKEN"
  channels="$channels pushover"
fi
is_set ALERT_WEBHOOK_URL && channels="$channels webhook"

if [ -n "$channels" ]; then
  {
    echo "# Written by grafana/entrypoint.sh from the channels configured in .env:$channels"
    echo "apiVersion: 1"
    echo ""
    echo "contactPoints:"
    echo "  - orgId: 1"
    echo "    name: twc-notifications"
    echo "    receivers:"
    for channel in $channels; do
      cat "$SRC/alerting/contact-points/$channel.yaml.tmpl"
    done
  } >"$OUT/alerting/twc-contact-points.yaml"
  cp "$SRC/alerting/policies.yaml.tmpl" "$OUT/alerting/twc-policies.yaml"
fi
echo "grafana provisioning: alert channels:${channels:- none}" >&2

if [ "${TWC_PROVISION_ONLY:-0}" = "1" ]; then
  exit 0
fi
exec /run.sh "$@"
