#!/usr/bin/env bash
# Alerting end to end, with the real servers on 127.0.0.1 (free ports):
# ml_exporter --config -> Prometheus (the shipped recording and alerting
# rules) -> Alertmanager (the shipped alertmanager.yml) -> mltool webhook.
#
#  1. normal traffic: the missing fraction of feature "age" is 0, under its
#     configured threshold (0.3): no alert;
#  2. traffic with "age" missing in 8 records of 10: MLFeatureMissingRatioHigh
#     reaches the webhook with the model, version, stage, feature, metric,
#     bound and severity labels, by the route for warnings (ml-team), and
#     the webhook's command (the retraining hook) runs for it;
#  3. a configuration reload raises the threshold to 0.95: the alert
#     resolves and the webhook gets the resolved notification;
#  4. a reload lowers it to 0.2: it fires again;
#  5. Alertmanager's inhibition: MLExporterDown of a model silences that
#     model's other alerts, not another model's;
#  6. the exporter stops: MLExporterDown, naming the model, reaches the
#     on-call route.
#
# The shipped rules' `for` durations (2m ... 1h) are rewritten to 1s in the
# copy Prometheus loads, and Alertmanager's group_wait and group_interval
# to 1s; everything else (expressions, rate windows, routes, inhibition) is
# the shipped files. Bounded by `timeout`; stops everything it started.
#
#   alerting_e2e.sh --exporter BIN --mltool BIN --prometheus BIN --alertmanager BIN
set -euo pipefail

if [ -z "${ALERTING_E2E_BOUNDED:-}" ]; then
  export ALERTING_E2E_BOUNDED=1
  exec timeout --kill-after=10 200 "$0" "$@"
fi

src=$(cd "$(dirname "$0")/../.." && pwd)
exporter="" mltool="" prometheus="" alertmanager=""
while [ $# -gt 0 ]; do
  case "$1" in
    --exporter) exporter=$2; shift ;;
    --mltool) mltool=$2; shift ;;
    --prometheus) prometheus=$2; shift ;;
    --alertmanager) alertmanager=$2; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
for b in "$exporter" "$mltool" "$prometheus" "$alertmanager"; do
  [ -x "$b" ] || { echo "not an executable: '$b'" >&2; exit 2; }
done

tmp=$(mktemp -d)
pids=()
started=$(date +%s)
ok=0
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ $ok -ne 1 ]; then
    for log in "$tmp"/*.log "$tmp"/*.jsonl; do
      [ -f "$log" ] || continue
      echo "--- $(basename "$log") (last 30 lines)"
      tail -n 30 "$log"
    done
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' TERM INT

step() { echo "[$(($(date +%s) - started))s] $*"; }
fail() { echo "FAIL: $*"; exit 1; }
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# wait_for SECONDS DESCRIPTION COMMAND...: poll until COMMAND succeeds.
wait_for() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$(($(date +%s) + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "$what: not within ${seconds}s"
    sleep 0.5
  done
}
up() { curl -fs "$1" >/dev/null; }

exporter_port=$(free_port)
prometheus_port=$(free_port)
alertmanager_port=$(free_port)
webhook_port=$(free_port)

# --- configuration files ---------------------------------------------------
write_exporter_config() {  # UPPER: the missing_ratio threshold of "age"
  cat >"$tmp/exporter.yaml.new" <<EOF
models:
  - model: e2e
    stage: decoder
    collectors:
      - name: software
      - name: inputs
    thresholds:
      - metric: missing_ratio
        feature: age
        upper: $1
EOF
  mv "$tmp/exporter.yaml.new" "$tmp/exporter.yaml"
}
write_exporter_config 0.3

sed -E 's/^( +for: ).*/\11s/' "$src/alerts/ml_exporter.alerts.yml" >"$tmp/ml_exporter.alerts.yml"
cp "$src/alerts/ml_exporter.rules.yml" "$tmp/ml_exporter.rules.yml"
cat >"$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - ml_exporter.rules.yml
  - ml_exporter.alerts.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:$alertmanager_port"]
scrape_configs:
  - job_name: ml_exporter
    static_configs:
      - targets: ["127.0.0.1:$exporter_port"]
EOF
sed -E -e "s/127\.0\.0\.1:9095/127.0.0.1:$webhook_port/" \
  -e 's/(group_wait|group_interval): .*/\1: 1s/' \
  "$src/alerts/alertmanager.yml" >"$tmp/alertmanager.yml"

# --- start everything --------------------------------------------------------
step "starting ml_exporter :$exporter_port, prometheus :$prometheus_port, alertmanager :$alertmanager_port, webhook :$webhook_port"
"$exporter" --config="$tmp/exporter.yaml" --listen_address="127.0.0.1:$exporter_port" \
  --log_level=warn >"$tmp/exporter.log" 2>&1 &
exporter_pid=$!
pids+=($exporter_pid)
export RETRAIN_LOG="$tmp/retrain.log"  # for the webhook's command
"$mltool" webhook --listen "127.0.0.1:$webhook_port" --log "$tmp/webhook.jsonl" \
  --command 'printf "%s %s %s %s\n" "$ALERT_NAME" "$ALERT_LABEL_MODEL" "$ALERT_LABEL_FEATURE" "$ALERT_LABEL_SEVERITY" >>"$RETRAIN_LOG"' \
  --command_alerts MLFeatureMissingRatioHigh --cooldown 0 >"$tmp/webhook.log" 2>&1 &
pids+=($!)
"$alertmanager" --config.file="$tmp/alertmanager.yml" --storage.path="$tmp/alertmanager-data" \
  --web.listen-address="127.0.0.1:$alertmanager_port" --cluster.listen-address= \
  --log.level=warn >"$tmp/alertmanager.log" 2>&1 &
pids+=($!)
(cd "$tmp" && exec "$prometheus" --config.file=prometheus.yml --storage.tsdb.path=prometheus-data \
  --web.listen-address="127.0.0.1:$prometheus_port" --rules.alert.resend-delay=1s \
  --log.level=warn) >"$tmp/prometheus.log" 2>&1 &
pids+=($!)
wait_for 20 "ml_exporter ready" up "http://127.0.0.1:$exporter_port/-/ready"
wait_for 20 "webhook up" up "http://127.0.0.1:$webhook_port/-/healthy"
wait_for 30 "alertmanager ready" up "http://127.0.0.1:$alertmanager_port/-/ready"
wait_for 30 "prometheus ready" up "http://127.0.0.1:$prometheus_port/-/ready"

# --- traffic -------------------------------------------------------------------
# 50 records/s in batches of 10, of which $(cat mode) lack "age".
echo 0 >"$tmp/mode"
feeder() {
  local line_ok='{"model":"e2e","version":"v1","stage":"decoder","latency_seconds":0.05,"inputs":{"age":34,"country":"DE"},"outputs":{"label":"cat"}}'
  local line_missing='{"model":"e2e","version":"v1","stage":"decoder","latency_seconds":0.05,"inputs":{"age":null,"country":"DE"},"outputs":{"label":"cat"}}'
  while :; do
    local missing body=""
    missing=$(cat "$tmp/mode")
    for i in 0 1 2 3 4 5 6 7 8 9; do
      if [ "$i" -lt "$missing" ]; then body+="$line_missing"$'\n'; else body+="$line_ok"$'\n'; fi
    done
    curl -s -o /dev/null -H 'Content-Type: application/x-ndjson' --data-binary "$body" \
      "http://127.0.0.1:$exporter_port/api/v1/records" || true
    sleep 0.2
  done
}
feeder &
pids+=($!)

# query PROMQL -> prints "labels value" lines (Prometheus API, JSON).
query() {
  curl -fs --data-urlencode "query=$1" "http://127.0.0.1:$prometheus_port/api/v1/query" |
    python3 -c '
import json, sys
for r in json.load(sys.stdin)["data"]["result"]:
    m = r["metric"]
    print(",".join(f"{k}={v}" for k, v in sorted(m.items())), r["value"][1])'
}
query_value_is() {  # PROMQL EXPECTED: the one result has this value
  local out
  out=$(query "$1")
  [ "$(wc -l <<<"$out")" -eq 1 ] && [ "${out##* }" = "$2" ]
}
query_below() {  # PROMQL LIMIT: one result, under LIMIT
  local out
  out=$(query "$1")
  [ -n "$out" ] && python3 -c "import sys; sys.exit(0 if float('${out##* }') < $2 else 1)"
}
no_alert() { [ -z "$(query "ALERTS{alertname=\"$1\"}")" ]; }

# webhook_has STATUS RECEIVER [N]: the webhook log holds at least N (1)
# notifications of MLFeatureMissingRatioHigh with STATUS through RECEIVER,
# with the expected labels.
webhook_has() {
  python3 - "$tmp/webhook.jsonl" "$1" "$2" "${3:-1}" <<'PY'
import json, sys
path, status, receiver, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
want = {"alertname": "MLFeatureMissingRatioHigh", "model": "e2e", "version": "v1",
        "stage": "decoder", "feature": "age", "field": "feature",
        "metric": "missing_ratio", "bound": "upper", "severity": "warning"}
try:
    lines = [json.loads(l) for l in open(path)]
except FileNotFoundError:
    sys.exit(1)
hits = [l for l in lines if "alert" in l and l["alertname"] == want["alertname"]
        and l["alert"]["status"] == status and l["receiver"] == receiver]
for h in hits:
    labels = h["alert"]["labels"]
    for k, v in want.items():
        if labels.get(k) != v:
            print(f"label {k}={labels.get(k)!r}, want {v!r}: {labels}")
            sys.exit(2)
    if "age" not in h["alert"]["annotations"].get("description", ""):
        print("description does not name the feature:", h["alert"]["annotations"])
        sys.exit(2)
sys.exit(0 if len(hits) >= n else 1)
PY
}
count_firing() {
  python3 -c '
import json, sys
print(sum(1 for l in map(json.loads, open(sys.argv[1]))
          if "alert" in l and l["alertname"] == "MLFeatureMissingRatioHigh"
          and l["alert"]["status"] == "firing"))' \
    "$tmp/webhook.jsonl" 2>/dev/null || echo 0
}

# --- 1. normal traffic: quiet ---------------------------------------------------
step "normal traffic"
threshold='model_feature:ml_alert_threshold:max{model="e2e",feature="age",metric="missing_ratio",bound="upper"}'
value='model_feature:ml_alert_value:current{model="e2e",feature="age",metric="missing_ratio"}'
wait_for 40 "threshold 0.3 in Prometheus" query_value_is "$threshold" 0.3
wait_for 40 "missing ratio of age recorded as 0" query_value_is "$value" 0
sleep 5
query_value_is "$value" 0 || fail "missing ratio with normal traffic: $(query "$value")"
no_alert MLFeatureMissingRatioHigh || fail "alert with normal traffic: $(query 'ALERTS')"
[ "$(count_firing)" -eq 0 ] || fail "the webhook got an alert during normal traffic"

# --- 2. past the threshold: the alert reaches the webhook --------------------------
step "traffic with age missing in 8 of 10 records"
echo 8 >"$tmp/mode"
fire_start=$(date +%s)
wait_for 60 "firing MLFeatureMissingRatioHigh at the webhook (route ml-team)" webhook_has firing ml-team
step "fired after $(($(date +%s) - fire_start))s: $(query "$value" | cut -d' ' -f2) missing"
wait_for 10 "the retraining hook's command ran" grep -q "MLFeatureMissingRatioHigh e2e age warning" "$tmp/retrain.log"

# --- 3. threshold raised by a reload: resolves ----------------------------------------
step "reload: threshold 0.95"
write_exporter_config 0.95
code=$(curl -s -o "$tmp/reload.out" -w '%{http_code}' -X POST "http://127.0.0.1:$exporter_port/-/reload")
[ "$code" = 200 ] || fail "reload: HTTP $code $(cat "$tmp/reload.out")"
wait_for 30 "threshold 0.95 in Prometheus" query_value_is "$threshold" 0.95
wait_for 60 "resolved notification at the webhook" webhook_has resolved ml-team
query_below "$value" 0.95 || fail "missing ratio: $(query "$value")"
step "resolved"

# --- 4. threshold lowered by a reload: fires again -----------------------------------
step "reload: threshold 0.2"
firing_before=$(count_firing)
write_exporter_config 0.2
kill -HUP "$exporter_pid"  # SIGHUP reloads too
wait_for 30 "threshold 0.2 in Prometheus" query_value_is "$threshold" 0.2
wait_for 60 "firing again at the webhook" webhook_has firing ml-team $((firing_before + 1))
step "fired again"

# --- 5. inhibition in Alertmanager -------------------------------------------------
step "inhibition: MLExporterDown of model inh-a"
ends=$(date -u -d '+10 minutes' +%Y-%m-%dT%H:%M:%SZ)
curl -fs -H 'Content-Type: application/json' "http://127.0.0.1:$alertmanager_port/api/v2/alerts" -d "[
 {\"labels\": {\"alertname\": \"MLExporterDown\", \"severity\": \"critical\", \"job\": \"ml_exporter\", \"instance\": \"10.0.0.9:9710\", \"model\": \"inh-a\", \"version\": \"v1\", \"stage\": \"s\"}, \"endsAt\": \"$ends\"},
 {\"labels\": {\"alertname\": \"MLFeatureDrift\", \"severity\": \"warning\", \"model\": \"inh-a\", \"version\": \"v1\", \"stage\": \"s\", \"feature\": \"f\", \"method\": \"psi\"}, \"endsAt\": \"$ends\"},
 {\"labels\": {\"alertname\": \"MLFeatureDrift\", \"severity\": \"warning\", \"model\": \"inh-b\", \"version\": \"v1\", \"stage\": \"s\", \"feature\": \"f\", \"method\": \"psi\"}, \"endsAt\": \"$ends\"}]" \
  >/dev/null || fail "posting alerts to Alertmanager"
delivered() {  # ALERTNAME MODEL RECEIVER
  python3 -c '
import json, sys
sys.exit(0 if any("alert" in l and l["alertname"] == sys.argv[2] and l["alert"]["labels"].get("model") == sys.argv[3]
                  and l["receiver"] == sys.argv[4] for l in map(json.loads, open(sys.argv[1]))) else 1)' \
    "$tmp/webhook.jsonl" "$@"
}
suppressed() {  # the inh-a drift alert is inhibited by MLExporterDown
  curl -fs "http://127.0.0.1:$alertmanager_port/api/v2/alerts?filter=model%3D%22inh-a%22&filter=alertname%3D%22MLFeatureDrift%22" |
    python3 -c '
import json, sys
a = json.load(sys.stdin)
sys.exit(0 if len(a) == 1 and a[0]["status"]["state"] == "suppressed" and a[0]["status"]["inhibitedBy"] else 1)'
}
wait_for 30 "MLExporterDown of inh-a at the on-call route" delivered MLExporterDown inh-a ml-oncall
wait_for 30 "inh-b drift at the retraining route" delivered MLFeatureDrift inh-b ml-retraining
wait_for 30 "inh-b drift at the team route" delivered MLFeatureDrift inh-b ml-team
wait_for 10 "inh-a drift inhibited in Alertmanager" suppressed
sleep 2
if delivered MLFeatureDrift inh-a ml-retraining || delivered MLFeatureDrift inh-a ml-team; then
  fail "the drift alert of inh-a was delivered although MLExporterDown inhibits it"
fi

# --- 6. the exporter stops ------------------------------------------------------------
step "stopping ml_exporter"
kill -TERM "$exporter_pid"
wait "$exporter_pid" || true
wait_for 60 "MLExporterDown of model e2e at the on-call route" delivered MLExporterDown e2e ml-oncall

ok=1
step "PASS: alerting end to end in $(($(date +%s) - started))s"
