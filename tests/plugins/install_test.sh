#!/usr/bin/env bash
# The plugin guide (docs/plugins.md) as a test: install ml_exporter into a
# temporary prefix, build an example plugin as a standalone project against
# that installation (find_package(ml_exporter), ml_exporter_add_plugin), and
# have the installed mltool load it and build its collector.
#   install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
source=$2
work=$(mktemp -d /tmp/ml_exporter_install_test.XXXXXX)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >"$work/install.log"
test -f "$work/prefix/include/ml_exporter/plugin_sdk.h"
test -f "$work/prefix/lib/cmake/ml_exporter/ml_exporterConfig.cmake"

cmake -S "$source/examples/plugins/click_rank" -B "$work/click_rank" \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release \
  >"$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/click_rank" -j2 >"$work/build.log" 2>&1 ||
  { cat "$work/build.log"; exit 1; }
plugin="$work/click_rank/libclick_rank.so"
test -f "$plugin"

cat >"$work/config.yaml" <<YAML
plugins:
  - path: click_rank/libclick_rank.so
models:
  - model: search
    collectors:
      - name: click_rank
        params: {max_rank: 20}
YAML
out=$("$work/prefix/bin/mltool" check-config "$work/config.yaml")
echo "$out"
grep -q "SUCCESS: 1 model entries, 1 collector settings, 0 thresholds, 1 plugins" <<<"$out"

# A parameter the plugin refuses: the installed tools report it.
sed -i 's/max_rank: 20/max_rank: 0/' "$work/config.yaml"
if out=$("$work/prefix/bin/mltool" check-config "$work/config.yaml"); then
  echo "FAIL: check-config accepted max_rank: 0"; exit 1
fi
grep -q 'parameter "max_rank" is 0, must be between 1 and 10000' <<<"$out" ||
  { echo "$out"; echo "FAIL: no parameter error"; exit 1; }
echo "ok: a plugin built against the installed package loads and checks its params"
