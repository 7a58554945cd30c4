#!/usr/bin/env bash
# Creates .venv with the reference tools (onnx, onnxruntime, numpy) and the PP-OCR models from
# rapidocr-onnxruntime. Idempotent: does nothing when everything is already installed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
stamp="$venv/.edgeopt-setup-v1"
[ -f "$stamp" ] && exit 0
if ! python3 -m venv --help >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq python3-venv) || sudo apt-get install -y -qq python3-venv
fi
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q numpy onnx==1.23.2 onnxruntime==1.32.0 protobuf
"$venv/bin/pip" install -q --no-deps rapidocr-onnxruntime==1.4.4
touch "$stamp"
echo "python tools ready in $venv"
