#!/usr/bin/env bash
# alerts/ml_exporter.alerts.yml is what `mltool rules` prints: the rule
# table lives in mltool/alert_rules.cc. On a difference, regenerate with
#   build/mltool rules --output alerts/ml_exporter.alerts.yml
#   check_in_sync.sh MLTOOL SHIPPED_FILE
set -euo pipefail
mltool=$1
shipped=$2
if ! diff -u "$shipped" <("$mltool" rules); then
  echo "FAIL: $shipped differs from \`mltool rules\`; regenerate it:"
  echo "  mltool rules --output $shipped"
  exit 1
fi
echo "ok: $shipped is in sync with mltool rules"
