#!/usr/bin/env bash
# Structured pruning on real models, checked with onnx + ONNX Runtime: ResNet-18 and
# MobileNetV2 (scripts from shared/bench, random weights) and the PP-OCRv4 det model, each
# pruned to 50% channels per group; the shrunk model must pass onnx's checker, run in ORT and
# compute what the masked model (same plan, shapes kept) computes.
# Needs .venv (scripts/setup-python.sh); MODELS_SCRIPT may point at make_models.py.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py=${PYTHON:-$root/.venv/bin/python}
if ! "$py" -c "import onnxruntime, onnx" 2>/dev/null; then
  echo "prune-check: skipped (no python with onnx + onnxruntime at $py)"
  exit 0
fi
cargo build --release -q -p edgeopt-cli
bin=target/release/edgeopt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
models=()
make=${MODELS_SCRIPT:-$root/../shared/bench/make_models.py}
if [ -f "$make" ]; then
  "$py" "$make" "$tmp" >/dev/null
  models+=("$tmp/resnet18.onnx" "$tmp/mobilenetv2.onnx")
fi
det=$("$py" -c "import importlib.util as u, os; s=u.find_spec('rapidocr_onnxruntime'); print(os.path.join(os.path.dirname(s.origin), 'models', 'ch_PP-OCRv4_det_infer.onnx') if s else '')")
[ -n "$det" ] && [ -f "$det" ] && models+=("$det")
for m in "${models[@]}"; do
  name=$(basename "$m" .onnx)
  echo "== $name"
  "$bin" prune "$m" --method channel --sparsity 0.5 -o "$tmp/$name.pruned.onnx" | tail -3
  "$bin" prune "$m" --method channel --sparsity 0.5 --mask-only -o "$tmp/$name.masked.onnx" >/dev/null
  "$py" scripts/prune-check.py "$m" "$tmp/$name.pruned.onnx" "$tmp/$name.masked.onnx"
done
