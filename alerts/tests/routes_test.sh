#!/usr/bin/env bash
# The routing tree of alerts/alertmanager.yml sends each kind of alert where
# docs/alerting.md says: amtool config routes test with --verify.receivers.
#   routes_test.sh AMTOOL ALERTMANAGER_YML
set -euo pipefail
amtool=$1
config=$2
failed=0
expect() {
  local receivers=$1
  shift
  if ! out=$("$amtool" config routes test --config.file="$config" \
      --verify.receivers="$receivers" "$@" 2>/dev/null); then
    echo "FAIL: $* -> $out (want $receivers)"
    failed=1
  else
    echo "ok: $* -> $out"
  fi
}
expect ml-team alertname=MLFeatureMissingRatioHigh severity=warning model=vision stage=detector feature=brightness
expect ml-oncall alertname=MLOutputNullRatioHigh severity=critical model=vision stage=detector feature=boxes
expect speech-team alertname=MLFeatureMissingRatioHigh severity=warning model=asr stage=decoder feature=audio_seconds
expect speech-team alertname=MLLatencyP99High severity=warning model=asr-de stage=decoder
expect speech-oncall alertname=MLAccuracyLow severity=critical model=asr stage=decoder
expect ml-retraining,ml-team alertname=MLFeatureDrift severity=warning model=vision stage=detector feature=brightness method=psi
expect ml-retraining,speech-team alertname=MLOutputDrift severity=warning model=asr stage=decoder feature=transcript method=psi
expect ml-oncall alertname=MLExporterDown severity=critical job=ml_exporter instance=10.0.0.1:9710 model=asr
expect ml-platform alertname=MLExporterNoRecords severity=warning job=ml_exporter instance=10.0.0.1:9710
expect ml-platform alertname=MLHostLoadHigh severity=warning instance=10.0.0.1:9100
expect ml-team alertname=SomethingElse
exit $failed
