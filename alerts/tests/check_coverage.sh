#!/usr/bin/env bash
# Every alert of alerts/ml_exporter.alerts.yml has a runbook page that its
# runbook_url names, and unit tests (alerts/tests/*.test.yml) in which it
# fires and in which it stays quiet.
#   check_coverage.sh SOURCE_DIR
set -euo pipefail
src=$1
alerts=$(sed -n 's/^ *- alert: *//p' "$src/alerts/ml_exporter.alerts.yml" | sort -u)
[ -n "$alerts" ] || { echo "no alerts found"; exit 1; }
# alertname followed by an empty or a non-empty exp_alerts, per test file.
checks=$(awk '
  /^ *alertname:/ { name = $2 }
  /^ *exp_alerts: *\[\] *$/ { if (name != "") print name, "quiet"; name = "" }
  /^ *exp_alerts: *$/ { if (name != "") print name, "fires"; name = "" }
' "$src"/alerts/tests/*.test.yml | sort -u)
failed=0
for a in $alerts; do
  page="$src/docs/runbooks/$a.md"
  if [ ! -f "$page" ]; then
    echo "FAIL: $a has no runbook page docs/runbooks/$a.md"; failed=1
  fi
  if ! grep -q "runbook_url: '.*/$a\.md'" "$src/alerts/ml_exporter.alerts.yml"; then
    echo "FAIL: $a: runbook_url does not name $a.md"; failed=1
  fi
  for kind in fires quiet; do
    if ! grep -qx "$a $kind" <<<"$checks"; then
      echo "FAIL: $a: no unit test where it $kind"; failed=1
    fi
  done
done
[ $failed -eq 0 ] && echo "ok: $(wc -w <<<"$alerts") alerts, each with a runbook and tests that fire and stay quiet"
exit $failed
