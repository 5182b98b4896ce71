#!/usr/bin/env bash
# mltool webhook: logs every alert of an Alertmanager notification as a
# JSON line; runs --command for firing alerts named in --command_alerts,
# with the alert in its environment, once per alert within --cooldown;
# without --command it only logs (manual review). Rejects what is not a
# notification.
#   webhook_test.sh MLTOOL
set -euo pipefail
mltool=$1
tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_healthy() {
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$1/-/healthy" >/dev/null && return 0
    sleep 0.1
  done
  echo "FAIL: webhook on port $1 did not come up"; exit 1
}
post() {  # PORT BODY -> HTTP status
  curl -s -o "$tmp/reply" -w '%{http_code}' -H 'Content-Type: application/json' \
    -X POST "http://127.0.0.1:$1/ml-retraining" --data-binary "$2"
}
notification() {  # STATUS: a drift alert and a missing-feature alert
  cat <<EOF
{"version": "4", "status": "$1", "receiver": "ml-retraining", "groupKey": "{}:{}",
 "groupLabels": {"alertname": "MLFeatureDrift"}, "commonLabels": {}, "commonAnnotations": {},
 "externalURL": "http://127.0.0.1:9093", "truncatedAlerts": 0,
 "alerts": [
  {"status": "$1", "fingerprint": "f1", "startsAt": "2026-11-28T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
   "labels": {"alertname": "MLFeatureDrift", "severity": "warning", "model": "vision", "version": "v1",
              "stage": "detector", "feature": "brightness", "method": "psi"},
   "annotations": {"summary": "Feature brightness of vision/detector drifted (psi 0.4)"}},
  {"status": "$1", "fingerprint": "f2", "startsAt": "2026-11-28T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
   "labels": {"alertname": "MLFeatureMissingRatioHigh", "severity": "warning", "model": "vision",
              "version": "v1", "stage": "detector", "feature": "contrast"},
   "annotations": {"summary": "it's \"quoted\""}}]}
EOF
}
fail() { echo "FAIL: $*"; echo "--- log:"; cat "$tmp/log" 2>/dev/null || true; exit 1; }

# With a command for drift alerts.
export RAN="$tmp/ran"
port=$(free_port)
"$mltool" webhook --listen "127.0.0.1:$port" --log "$tmp/log" \
  --command 'printf "%s %s %s %s\n" "$ALERT_NAME" "$ALERT_STATUS" "$ALERT_LABEL_MODEL" "$ALERT_LABEL_FEATURE" >> "$RAN"; sleep 1' \
  --command_alerts MLFeatureDrift,MLOutputDrift 2>"$tmp/stderr" &
pids+=($!)
wait_healthy "$port"

code=$(post "$port" "$(notification firing)")
[ "$code" = 200 ] || fail "firing notification: HTTP $code"
grep -q '"alerts":2' "$tmp/reply" || fail "reply $(cat "$tmp/reply")"
# The same notification again (Alertmanager repeats): no second run.
code=$(post "$port" "$(notification firing)")
[ "$code" = 200 ] || fail "repeated notification: HTTP $code"
code=$(post "$port" "$(notification resolved)")
[ "$code" = 200 ] || fail "resolved notification: HTTP $code"
for _ in $(seq 50); do
  grep -q '"command finished"' "$tmp/log" 2>/dev/null && break
  sleep 0.1
done

python3 - "$tmp/log" "$RAN" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
alerts = [l for l in lines if "alert" in l]
assert len(alerts) == 6, alerts
drift = [l for l in alerts if l["alertname"] == "MLFeatureDrift"]
assert drift[0]["action"].startswith("command started"), drift[0]
assert drift[1]["action"].startswith("command skipped"), drift[1]
assert drift[2]["alert"]["status"] == "resolved" and drift[2]["action"] == "logged", drift[2]
assert drift[0]["receiver"] == "ml-retraining" and drift[0]["path"] == "/ml-retraining"
labels = drift[0]["alert"]["labels"]
assert labels["model"] == "vision" and labels["feature"] == "brightness" and labels["method"] == "psi", labels
missing = [l for l in alerts if l["alertname"] == "MLFeatureMissingRatioHigh"]
assert all(l["action"] == "logged" for l in missing), missing
assert missing[0]["alert"]["annotations"]["summary"] == 'it\'s "quoted"'
finished = [l for l in lines if l.get("action") == "command finished"]
assert len(finished) == 1 and finished[0]["exit_code"] == 0, finished
ran = open(sys.argv[2]).read().splitlines()
assert ran == ["MLFeatureDrift firing vision brightness"], ran
print("ok: logged 6 alerts, ran the command once with the alert's labels")
PY

# Not a notification.
code=$(post "$port" '{"alerts": ')
[ "$code" = 400 ] || fail "invalid JSON: HTTP $code"
code=$(post "$port" '{"status": "firing"}')
[ "$code" = 400 ] || fail "no alerts array: HTTP $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "http://127.0.0.1:$port/x")
[ "$code" = 405 ] || fail "PUT: HTTP $code"
grep -q '"action":"rejected"' "$tmp/log" || fail "rejections are not logged"

# Stops on SIGTERM with exit code 0.
kill -TERM "${pids[0]}"
wait "${pids[0]}" || fail "exit code $? after SIGTERM"
pids=()

# Without --command: manual review.
port=$(free_port)
"$mltool" webhook --listen "127.0.0.1:$port" --log "$tmp/log2" 2>/dev/null &
pids+=($!)
wait_healthy "$port"
code=$(post "$port" "$(notification firing)")
[ "$code" = 200 ] || fail "firing notification without command: HTTP $code"
grep -q '"alertname":"MLFeatureDrift".*"action":"manual review (no --command)"' "$tmp/log2" ||
  fail "drift alert without --command: $(cat "$tmp/log2")"

# Usage errors.
if "$mltool" webhook --log x 2>/dev/null; then fail "no --listen accepted"; fi
if "$mltool" webhook --listen 127.0.0.1:0 --cooldown -1 2>/dev/null; then fail "negative cooldown accepted"; fi
echo "ok: mltool webhook"
