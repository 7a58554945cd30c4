#!/usr/bin/env bash
# Reproduces the int8 accuracy numbers of BENCHMARKS.md (issue 4):
#  - PP-OCR cls/det (rapidocr-onnxruntime 1.4.4 models) on rendered-text inputs
#    (scripts/make_ocr_data.py: 64 calibration samples, seed 2; 200 evaluation samples, seed 1):
#    cls top-1 agreement int8 vs fp32 and accuracy on upright / 180-degree crops; det
#    probability-map cosine, plain PTQ and with the accuracy-aware fallback (--target-cosine).
#  - Fashion-MNIST: a small CNN trained with `edgeopt train` (3 epochs), PTQ int8 and QAT
#    (1 epoch on 12800 samples) test accuracy against fp32.
# Usage: scripts/quant-accuracy.sh [--skip-fmnist] [--skip-ppocr]; DATA=../shared/data by default.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data=${DATA:-$root/../shared/data}
skip_fmnist=0; skip_ppocr=0
for a in "$@"; do
  case $a in --skip-fmnist) skip_fmnist=1 ;; --skip-ppocr) skip_ppocr=1 ;; *) echo "unknown option $a" >&2; exit 2 ;; esac
done
"$root/scripts/setup-python.sh"
py="$root/.venv/bin/python"
"$py" -c "import PIL" 2>/dev/null || "$root/.venv/bin/pip" install -q pillow
(cd "$root" && cargo build --release -q -p edgeopt-cli)
e="$root/target/release/edgeopt"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ $skip_ppocr = 0 ]; then
  models=$("$py" -c "import importlib.util as u, os; print(os.path.join(u.find_spec('rapidocr_onnxruntime').submodule_search_locations[0], 'models'))")
  "$py" "$root/scripts/make_ocr_data.py" "$work/calib" --n 64 --seed 2
  "$py" "$root/scripts/make_ocr_data.py" "$work/eval" --n 200 --seed 1
  cls="$models/ch_ppocr_mobile_v2.0_cls_infer.onnx"; det="$models/ch_PP-OCRv4_det_infer.onnx"
  echo "== PP-OCR cls: int8 (per-channel, minmax, 64 calibration crops) vs fp32 on 200 crops"
  "$e" quantize "$cls" --calib "$work/calib/cls.npy" --samples 64 -o "$work/cls.int8.onnx"
  "$e" compare "$cls" "$work/cls.int8.onnx" --data "$work/eval/cls.npy" --labels "$work/eval/cls_labels.npy" --samples 200 --outputs-only
  echo "== PP-OCR det: int8 vs fp32 probability map on 200 pages (320x320)"
  "$e" quantize "$det" --calib "$work/calib/det.npy" --samples 16 -o "$work/det.int8.onnx"
  "$e" compare "$det" "$work/det.int8.onnx" --data "$work/eval/det.npy" --samples 200 --outputs-only
  echo "== PP-OCR det with the accuracy-aware fallback (--target-cosine 0.99 on the calibration pages)"
  "$e" quantize "$det" --calib "$work/calib/det.npy" --samples 16 --target-cosine 0.99 -o "$work/det.fb.onnx" | grep -v "^ "
  "$e" compare "$det" "$work/det.fb.onnx" --data "$work/eval/det.npy" --samples 200 --outputs-only
fi
if [ $skip_fmnist = 0 ]; then
  fm="$data/fashion-mnist"
  echo "== Fashion-MNIST CNN (conv3x3(16)-relu-pool-conv3x3(32)-relu-pool-fc), 3 epochs of edgeopt train"
  "$e" zoo cnn --width 0.5 -o "$work/cnn.onnx"
  nice "$e" train "$work/cnn.onnx" --data "$fm" --epochs 3 --batch-size 64 --lr 0.05 -o "$work/cnn.fp32.onnx"
  "$e" quantize "$work/cnn.fp32.onnx" --calib "$fm/train-images-idx3-ubyte.gz" --samples 500 -o "$work/cnn.int8.onnx"
  nice "$e" quantize "$work/cnn.fp32.onnx" --calib "$fm/train-images-idx3-ubyte.gz" --samples 500 \
    --qat --train-data "$fm" --qat-limit 12800 -o "$work/cnn.qat.onnx"
  for m in fp32 int8 qat; do echo -n "$m: "; "$e" eval "$work/cnn.$m.onnx" --data "$fm"; done
fi
