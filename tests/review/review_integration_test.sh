#!/usr/bin/env bash
# mltool review against a real Prometheus on 127.0.0.1: two days of
# ml_exporter series with planted findings (tests/review/review_data.py) are
# backfilled with `promtool tsdb create-blocks-from openmetrics`, Prometheus
# serves them, and the JSON report must name exactly the planted findings,
# with exit code 1; a range and selector without findings exits 0; a dead
# server, a wrong URL and a query Prometheus rejects exit 2 with the URL,
# the HTTP status and Prometheus' error text.
#
# usage: review_integration_test.sh --mltool BIN --prometheus BIN
#          --promtool BIN --python3 BIN --dir WORKDIR
set -euo pipefail

if [ -z "${REVIEW_TEST_BOUNDED:-}" ]; then
  export REVIEW_TEST_BOUNDED=1
  exec timeout --kill-after=10 150 "$0" "$@"
fi

while [ $# -gt 0 ]; do
  case "$1" in
    --mltool) MLTOOL=$2; shift 2 ;;
    --prometheus) PROMETHEUS=$2; shift 2 ;;
    --promtool) PROMTOOL=$2; shift 2 ;;
    --python3) PYTHON3=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
HERE=$(cd "$(dirname "$0")" && pwd)
DATA="$PYTHON3 $HERE/review_data.py"

rm -rf "$DIR"
mkdir -p "$DIR/tsdb"
PROM_PID=""
PROXY_PID=""
cleanup() {
  status=$?
  if [ -n "$PROXY_PID" ] && kill -0 "$PROXY_PID" 2>/dev/null; then
    kill "$PROXY_PID" 2>/dev/null || true
    wait "$PROXY_PID" 2>/dev/null || true
  fi
  if [ -n "$PROM_PID" ] && kill -0 "$PROM_PID" 2>/dev/null; then
    kill "$PROM_PID" 2>/dev/null || true
    wait "$PROM_PID" 2>/dev/null || true
  fi
  if [ $status -ne 0 ] && [ -f "$DIR/prometheus.log" ]; then
    echo "--- prometheus log (tail) ---"
    tail -20 "$DIR/prometheus.log"
  fi
  exit $status
}
trap cleanup EXIT INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }

# Ends an hour ago so no sample is in the future of the head block.
END=$(( $(date +%s) - 3600 ))
$DATA generate --dir "$DIR" --end "$END"
"$PROMTOOL" tsdb create-blocks-from openmetrics "$DIR/data.om" "$DIR/tsdb" \
  > "$DIR/promtool.log" 2>&1 || { cat "$DIR/promtool.log"; fail "backfill"; }

PORT=$($PYTHON3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
cat > "$DIR/prometheus.yml" <<EOF
global:
  scrape_interval: 1m
  evaluation_interval: 1s
rule_files:
  - $DIR/rules.yml
EOF
"$PROMETHEUS" --config.file="$DIR/prometheus.yml" \
  --storage.tsdb.path="$DIR/tsdb" \
  --web.listen-address="127.0.0.1:$PORT" \
  > "$DIR/prometheus.log" 2>&1 &
PROM_PID=$!
for _ in $(seq 1 100); do
  if curl -fsS "$URL/-/ready" > /dev/null 2>&1; then break; fi
  kill -0 "$PROM_PID" 2>/dev/null || fail "prometheus exited"
  sleep 0.3
done
curl -fsS "$URL/-/ready" > /dev/null || fail "prometheus not ready"
curl -fsS "$URL/api/v1/rules?type=alert" | grep -qF MLReviewTestNeverFires \
  || fail "rules.yml not loaded"

START=$($PYTHON3 -c "import json; print(json.load(open('$DIR/expected.json'))['start'])")
END=$($PYTHON3 -c "import json; print(json.load(open('$DIR/expected.json'))['end'])")
SECOND_DAY=$($PYTHON3 -c "import json; print(json.load(open('$DIR/expected.json'))['second_day_start'])")

# 1. The whole range: exactly the planted findings, exit code 1.
set +e
"$MLTOOL" review --prometheus "$URL" --start "$START" --end "$END" \
  --format json > "$DIR/report.json" 2> "$DIR/review.err"
code=$?
set -e
[ $code -eq 1 ] || { cat "$DIR/review.err"; fail "exit code $code, want 1"; }
$DATA check --expected "$DIR/expected.json" --report "$DIR/report.json" \
  || fail "report differs (see $DIR/report.json)"

# The text report says the same for people.
set +e
"$MLTOOL" review --prometheus "$URL" --start "$START" --end "$END" \
  > "$DIR/report.txt" 2>&1
code=$?
set -e
[ $code -eq 1 ] || fail "text report: exit code $code, want 1"
for want in "== churn / main" "FLAPPING  MLFeatureMissingRatioHigh" \
    "NEVER FIRED  MLOutputNullRatioHigh" "exclude: [legacy_code]" \
    "psi stayed above 0.25 (default) all along" "max_label_values:" \
    "drift on 127.0.0.1:9710: failed" \
    "NEVER FIRED  MLReviewTestNeverFires  group review-test"; do
  grep -qF -- "$want" "$DIR/report.txt" || fail "text report lacks \"$want\""
done
if grep -q "== asr" "$DIR/report.txt"; then fail "asr has no findings"; fi
for unwanted in "NEVER FIRED  MLFeatureMissingRatioHigh" \
    "MLOutputNullRatioHigh  group"; do
  if grep -qF -- "$unwanted" "$DIR/report.txt"; then
    fail "text report names \"$unwanted\""
  fi
done

# 1b. A querier without the rules API (Thanos Query, Mimir without a
# ruler): a proxy answers 404 there and forwards the rest. The review goes
# on, says so in a note, and reports everything but the never-fired rule.
cat > "$DIR/no_rules_proxy.py" <<'EOF'
import http.server, sys, urllib.error, urllib.request
UPSTREAM = sys.argv[1]
class Proxy(http.server.BaseHTTPRequestHandler):
    def forward(self, body):
        if self.path.startswith("/api/v1/rules"):
            self.send_response(404)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"404 page not found\n")
            return
        req = urllib.request.Request(UPSTREAM + self.path, data=body,
                                     method=self.command)
        if body is not None:
            req.add_header("Content-Type", self.headers["Content-Type"])
        try:
            with urllib.request.urlopen(req) as r:
                code, data = r.status, r.read()
        except urllib.error.HTTPError as e:
            code, data = e.code, e.read()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        self.forward(None)
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        self.forward(self.rfile.read(n))
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
with open(sys.argv[2], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
EOF
rm -f "$DIR/proxy.port"
$PYTHON3 "$DIR/no_rules_proxy.py" "$URL" "$DIR/proxy.port" &
PROXY_PID=$!
for _ in $(seq 1 50); do
  [ -s "$DIR/proxy.port" ] && break
  sleep 0.1
done
[ -s "$DIR/proxy.port" ] || fail "proxy did not start"
PROXY_URL="http://127.0.0.1:$(cat "$DIR/proxy.port")"
set +e
"$MLTOOL" review --prometheus "$PROXY_URL" --start "$START" --end "$END" \
  --format json > "$DIR/norules.json" 2> "$DIR/norules.err"
code=$?
set -e
[ $code -eq 1 ] || { cat "$DIR/norules.err"; fail "no rules API: exit code $code, want 1"; }
$PYTHON3 - "$DIR/norules.json" "$DIR/report.json" <<'EOF' \
  || fail "no rules API: report (see $DIR/norules.json)"
import json, sys
got, full = (json.load(open(p)) for p in sys.argv[1:3])
ok = (got["never_fired_rules"] == [] and
      got["findings"] == full["findings"] - len(full["never_fired_rules"]) and
      len(got["notes"]) == 1 and
      "alerting rules could not be listed" in got["notes"][0] and
      "HTTP 404" in got["notes"][0])
sys.exit(0 if ok else 1)
EOF
"$MLTOOL" review --prometheus "$PROXY_URL" --start "$START" --end "$END" \
  > "$DIR/norules.txt" 2>&1 || true
grep -qF "note: the alerting rules could not be listed" "$DIR/norules.txt" \
  || fail "text report lacks the rules note"
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true; PROXY_PID=""

# 2. One model, on the second day (no overflow, no failure): nothing, exit 0.
set +e
"$MLTOOL" review --prometheus "$URL" --start "$SECOND_DAY" --end "$END" \
  --selector '{model="asr"}' --format json > "$DIR/quiet.json" 2> "$DIR/quiet.err"
code=$?
set -e
[ $code -eq 0 ] || { cat "$DIR/quiet.json" "$DIR/quiet.err"; fail "quiet range: exit code $code, want 0"; }
$PYTHON3 -c "import json,sys; r=json.load(open('$DIR/quiet.json')); sys.exit(0 if r['findings']==0 and r['models']==[] else 1)" \
  || fail "quiet range reported findings"

# 3. Errors: exit 2 with the URL, the HTTP status and Prometheus' message.
set +e
"$MLTOOL" review --prometheus "$URL/nonexistent" --range 1h > /dev/null 2> "$DIR/err404"
code=$?
set -e
[ $code -eq 2 ] || fail "wrong URL: exit code $code, want 2"
grep -qF "$URL/nonexistent/api/v1/" "$DIR/err404" || { cat "$DIR/err404"; fail "no URL in the error"; }
grep -qF "HTTP 404" "$DIR/err404" || { cat "$DIR/err404"; fail "no HTTP status in the error"; }

set +e
"$MLTOOL" review --prometheus "$URL" --range 1h --selector '{model=~"("}' > /dev/null 2> "$DIR/err400"
code=$?
set -e
[ $code -eq 2 ] || fail "bad regexp: exit code $code, want 2"
grep -qF "HTTP 400" "$DIR/err400" || { cat "$DIR/err400"; fail "no HTTP 400"; }
grep -qF "bad_data" "$DIR/err400" || { cat "$DIR/err400"; fail "no Prometheus error type"; }

kill "$PROM_PID"; wait "$PROM_PID" 2>/dev/null || true; PROM_PID=""
set +e
"$MLTOOL" review --prometheus "$URL" --range 1h > /dev/null 2> "$DIR/errdown"
code=$?
set -e
[ $code -eq 2 ] || fail "server down: exit code $code, want 2"
grep -qF "$URL/api/v1/" "$DIR/errdown" || { cat "$DIR/errdown"; fail "no URL when down"; }

set +e
"$MLTOOL" review --range 1h > /dev/null 2>&1; code=$?
set -e
[ $code -eq 2 ] || fail "missing --prometheus: exit code $code, want 2"

echo "PASS"
