#!/usr/bin/env bash
# The main job on embedded defaults: build edgeopt, fetch the real PP-OCR models (PyPI
# rapidocr-onnxruntime), inspect the text detector, run the direction classifier, and check
# all three models against ONNX Runtime.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup-python.sh
cargo build --release -q -p edgeopt-cli
models=$(.venv/bin/python -c "import importlib.util as u, os; print(os.path.join(u.find_spec('rapidocr_onnxruntime').submodule_search_locations[0], 'models'))")
echo "== edgeopt inspect ch_PP-OCRv4_det_infer.onnx (first 12 layers) =="
target/release/edgeopt inspect "$models/ch_PP-OCRv4_det_infer.onnx" --layers 12
echo
echo "== edgeopt run ch_ppocr_mobile_v2.0_cls_infer.onnx --random =="
target/release/edgeopt run "$models/ch_ppocr_mobile_v2.0_cls_infer.onnx" --random --shape x=1x3x48x192 -o out/cls.npz
echo
echo "== cross-check against ONNX Runtime =="
scripts/crosscheck-ppocr.sh
