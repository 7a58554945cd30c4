#!/usr/bin/env bash
# Makes the test data available. Uses ../shared/data when present (the team's machines);
# otherwise builds data/ from Debian packages and onnx's backend test generator, as
# ../shared/data/README.md describes. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -d "$root/../shared/data/onnx-testdata/node" ] && [ -d "$root/../shared/data/fashion-mnist" ]; then
  exit 0
fi
data="$root/data"
mkdir -p "$data"
need_apt=()
[ -d /usr/share/libonnx-testdata/data ] || need_apt+=(libonnx-testdata)
[ -d /usr/share/datasets/fashion-mnist ] || need_apt+=(dataset-fashion-mnist)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${need_apt[@]}"
fi
mkdir -p "$data/onnx-testdata"
for s in pytorch-converted pytorch-operator simple; do
  [ -e "$data/onnx-testdata/$s" ] || ln -s "/usr/share/libonnx-testdata/data/$s" "$data/onnx-testdata/$s"
done
[ -e "$data/fashion-mnist" ] || ln -s /usr/share/datasets/fashion-mnist "$data/fashion-mnist"
if [ ! -d "$data/onnx-testdata/node" ]; then
  "$root/scripts/setup-python.sh"
  tmp="$data/onnx-testdata/node.tmp"
  rm -rf "$tmp"
  "$root/.venv/bin/python" "$root/scripts/gen_node_tests.py" "$tmp"
  mv "$tmp/node" "$data/onnx-testdata/node"
  rm -rf "$tmp"
fi
echo "test data ready in $data"
