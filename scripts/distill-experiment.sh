#!/usr/bin/env bash
# Knowledge-distillation experiment of issue 5 (Fashion-MNIST):
#   1. trains the teacher (teacher3.onnx, 5.7 M MACs) with `edgeopt train`, evaluates it;
#   2. for each seed, trains the student (student8.onnx, 0.29 M MACs: 1/20 of the teacher)
#      from scratch with `edgeopt train` and with `edgeopt distill` from the same initial
#      weights (generated with that seed), same epochs, schedule and data order;
#   3. prints each seed's test accuracy and the means (also in OUT/summary.txt).
# Every run checkpoints each epoch and resumes after a kill; finished runs are skipped.
#
# usage: scripts/distill-experiment.sh [--data DIR] [--out DIR] [--seeds "1 2 3"]
#          [--teacher-epochs N] [--student-epochs N] [--parallel N] [--threads N]
# Runs under `nice -n 5`. PYTHON (default .venv/bin/python) writes the ONNX models.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data=${EDGEOPT_FASHION_MNIST:-$root/data/fashion-mnist}
out=$root/out/distill
seeds="1 2 3"
teacher_epochs=6
student_epochs=3
parallel=3
threads=1
lambda=0.7
temperature=4
while [ $# -gt 0 ]; do
  case $1 in
    --data) data=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --teacher-epochs) teacher_epochs=$2; shift 2 ;;
    --student-epochs) student_epochs=$2; shift 2 ;;
    --parallel) parallel=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    -h|--help) sed -n 2,14p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
py=${PYTHON:-$root/.venv/bin/python}
# EDGEOPT: a prebuilt binary (else target/release/edgeopt, built now).
edgeopt=${EDGEOPT:-$root/target/release/edgeopt}
if [ -z "${EDGEOPT:-}" ]; then (cd "$root" && cargo build --release -p edgeopt-cli); fi
mkdir -p "$out"
common=(--data "$data" --optimizer sgd --nesterov --momentum 0.9 --lr 0.05 --weight-decay 5e-4
        --schedule cosine --batch-size 64 --threads "$threads")

# One resumable run: NAME then the edgeopt arguments (train|distill ...).
run() {
  local name=$1; shift
  local dir=$out/$name
  mkdir -p "$dir"
  if [ -f "$dir/model.onnx" ]; then echo "$name: done"; return; fi
  local resume=()
  if [ -f "$dir/ckpt/checkpoint.bin" ]; then resume=(--resume); fi
  echo "$name: start $(date -u +%H:%M:%S)"
  nice -n 5 "$edgeopt" "$@" "${common[@]}" --checkpoint "$dir/ckpt" "${resume[@]}" \
    --log "$dir/log.csv" --plot "$dir/curves.svg" -o "$dir/model.onnx" \
    > "$dir/stdout.txt" 2> "$dir/stderr.txt"
  echo "$name: end $(date -u +%H:%M:%S) $(tail -n 2 "$dir/stdout.txt" | head -n 1)"
}

"$py" "$root/crates/train/scripts/make_models.py" "$out/models" 0 > /dev/null
for s in $seeds; do
  "$py" "$root/crates/train/scripts/make_models.py" "$out/models/seed$s" "$s" > /dev/null
done
jobs_running() { jobs -rp | wc -l; }
wait_slot() { while [ "$(jobs_running)" -ge "$1" ]; do sleep 5; done; }

# The from-scratch students do not need the teacher: they run beside it.
for s in $seeds; do
  wait_slot "$parallel"
  run "scratch-seed$s" train "$out/models/seed$s/student8.onnx" --epochs "$student_epochs" --seed "$s" &
done
run teacher train "$out/models/teacher3.onnx" --epochs "$teacher_epochs" --seed 0
"$edgeopt" eval "$out/teacher/model.onnx" --data "$data" --json > "$out/teacher/eval.json"
echo "teacher: $(cat "$out/teacher/eval.json")"
for s in $seeds; do
  wait_slot "$parallel"
  run "distill-seed$s" distill --teacher "$out/teacher/model.onnx" \
    --student "$out/models/seed$s/student8.onnx" --lambda "$lambda" --temperature "$temperature" \
    --epochs "$student_epochs" --seed "$s" &
done
wait

{
  echo "teacher: $(cat "$out/teacher/eval.json")"
  for s in $seeds; do
    for kind in scratch distill; do
      acc=$("$edgeopt" eval "$out/$kind-seed$s/model.onnx" --data "$data" --json)
      echo "$kind seed $s: $acc"
    done
  done
} | tee "$out/summary.txt"
"$py" - "$out/summary.txt" <<'PY'
import json, sys, re
acc = {"scratch": [], "distill": []}
for line in open(sys.argv[1]):
    m = re.match(r"(scratch|distill) seed (\d+): (.*)", line.strip())
    if m:
        acc[m.group(1)].append(json.loads(m.group(3))["accuracy"])
mean = {k: sum(v) / len(v) for k, v in acc.items() if v}
print("mean accuracy: " + ", ".join(f"{k} {v:.4f}" for k, v in mean.items()))
if len(mean) == 2:
    print(f"distillation gain: {100 * (mean['distill'] - mean['scratch']):+.2f} points")
PY
