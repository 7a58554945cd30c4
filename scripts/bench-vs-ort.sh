#!/usr/bin/env bash
# edgeopt vs ONNX Runtime side by side (issue 3's benchmark): MobileNetV2-1.0 and ResNet-18 at
# 224x224, the MNIST CNN and MLP (../shared/bench/make_models.py), and PP-OCR det/cls/rec, at 1 and
# 2 threads. Extra arguments go to scripts/bench_vs_ort.py (e.g. --models resnet18 --repeats 3).
# Results: out/bench/results.{md,json}. `--int8` (issue 4): quantizes MobileNetV2 and ResNet-18
# with `edgeopt quantize` and times edgeopt fp32 / int8 against ONNX Runtime on the same QDQ file
# (results in out/bench/int8.{md,json}).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
case " $* " in *" --help "* | *" -h "*)
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
  if [ -x .venv/bin/python ]; then exec .venv/bin/python scripts/bench_vs_ort.py --help; fi
  exit 0 ;;
esac
scripts/setup-python.sh
cargo build --release -q -p edgeopt-cli
models=out/bench/models
mkdir -p "$models"
gen="${EDGEOPT_BENCH_DIR:-$root/../shared/bench}/make_models.py"
if [ ! -f "$models/resnet18.onnx" ]; then
  if [ ! -f "$gen" ]; then
    echo "error: $gen not found: the standard models (MobileNetV2-1.0, ResNet-18, MNIST CNN, MLP) come from" >&2
    echo "  ../shared/bench/make_models.py; set EDGEOPT_BENCH_DIR to the folder that holds it" >&2
    exit 2
  fi
  .venv/bin/python "$gen" "$models"
fi
ppocr=$(.venv/bin/python -c "import importlib.util as u, os; print(os.path.join(u.find_spec('rapidocr_onnxruntime').submodule_search_locations[0], 'models'))")
ln -sf "$ppocr/ch_PP-OCRv4_det_infer.onnx" "$models/ppocr_det.onnx"
ln -sf "$ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx" "$models/ppocr_cls.onnx"
ln -sf "$ppocr/ch_PP-OCRv4_rec_infer.onnx" "$models/ppocr_rec.onnx"
out=results
case " $* " in *" --int8 "*) out=int8 ;; esac
.venv/bin/python scripts/bench_vs_ort.py --edgeopt target/release/edgeopt --models-dir "$models" \
  --json "out/bench/$out.json" --md "out/bench/$out.md" "$@"
