#!/usr/bin/env bash
# `mltool rules --config FILE`: the static rules of every example
# configuration pass `promtool check rules`, and on alerts/tests/static/
# they fire exactly the alerts that the shipped threshold-matching rules
# fire with the ml_alert_threshold series of the same configuration.
#   static_rules_test.sh MLTOOL PROMTOOL SOURCE_DIR
set -euo pipefail
mltool=$1
promtool=$2
src=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for config in "$src"/examples/configs/*.yaml "$src"/alerts/tests/static/config.yaml; do
  out="$tmp/$(basename "$config" .yaml).alerts.yml"
  "$mltool" rules --config "$config" --output "$out"
  "$promtool" check rules "$out"
done

cp "$src/alerts/ml_exporter.rules.yml" "$tmp/"
"$mltool" rules --config "$src/alerts/tests/static/config.yaml" --output "$tmp/static.alerts.yml"
cp "$src/alerts/ml_exporter.alerts.yml" "$tmp/shipped.alerts.yml"
template="$src/alerts/tests/static/equivalence.test.yml"

# Static: the thresholds are in the rules, the exporter exports none.
sed -e 's/@ALERTS@/static.alerts.yml/' -e '/@THRESHOLDS@/d' \
  "$template" > "$tmp/static.test.yml"
# Threshold-matching: the exporter's ml_alert_threshold series.
sed -e 's/@ALERTS@/shipped.alerts.yml/' \
  -e "/@THRESHOLDS@/r $src/alerts/tests/static/thresholds.series.yml" \
  -e '/@THRESHOLDS@/d' \
  "$template" > "$tmp/shipped.test.yml"

cd "$tmp"
echo "--- static rules"
"$promtool" test rules static.test.yml
echo "--- threshold-matching rules"
"$promtool" test rules shipped.test.yml
