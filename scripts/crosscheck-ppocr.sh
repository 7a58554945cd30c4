#!/usr/bin/env bash
# The three PP-OCR models shipped in rapidocr-onnxruntime 1.4.4 must match ONNX Runtime within
# 1e-4 relative (max|edgeopt - ort| / max|ort|) on seeded inputs, two seeds each.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup-python.sh"
(cd "$root" && cargo build --release -q -p edgeopt-cli)
models=$("$root/.venv/bin/python" -c "import rapidocr_onnxruntime, os; print(os.path.join(os.path.dirname(rapidocr_onnxruntime.__file__), 'models'))")
check() { "$root/.venv/bin/python" "$root/scripts/crosscheck.py" "$models/$1" --via-export "${@:2}"; }
status=0
for seed in 0 1; do
  check ch_ppocr_mobile_v2.0_cls_infer.onnx --seed $seed --shape x=1x3x48x192 || status=1
  check ch_PP-OCRv4_det_infer.onnx --seed $seed --shape x=1x3x320x320 || status=1
  check ch_PP-OCRv4_rec_infer.onnx --seed $seed --shape x=1x3x48x320 || status=1
done
exit $status
