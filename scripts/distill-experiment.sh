#!/usr/bin/env bash
# Knowledge-distillation experiment of issue 5 (Fashion-MNIST):
#   1. trains the teacher (teacher3.onnx, 5.7 M MACs) with `edgeopt train` and evaluates it,
#      or takes an already trained one (--teacher FILE);
#   2. for each seed, trains the student (student8.onnx, 0.29 M MACs: 1/20 of the teacher)
#      from scratch with `edgeopt train` and with `edgeopt distill` from the same initial
#      weights (generated with that seed), same epochs, schedule and data order; the teacher's
#      logits are computed once (no augmentation) into OUT/teacher-logits*.bin and shared;
#   3. prints each seed's per-epoch accuracy, the final ones and the means (OUT/summary.txt).
# Every run checkpoints each epoch and resumes after a kill; finished runs are skipped.
# The accuracy is on the test set, or with --val-split F on F of the training set held out
# (seeded by the run's seed): use that to tune --lambda/--temperature/--student-epochs.
#
# Final protocol (BENCHMARKS.md, 2026-11-24 "previous protocol" used --student-epochs 2,
# lambda 0.7, T 4):
#   scripts/distill-experiment.sh --data DIR --teacher TEACHER.onnx
# Tuning run (validation split of the training set, one seed):
#   scripts/distill-experiment.sh --data DIR --teacher T.onnx --val-split 0.1 --seeds 1 --out O
#
# usage: scripts/distill-experiment.sh [--data DIR] [--out DIR] [--seeds "1 2 3"]
#          [--teacher FILE] [--teacher-epochs N] [--student-epochs N] [--lambda L]
#          [--temperature T] [--val-split F] [--parallel N] [--threads N]
# Runs under `nice -n 5`. PYTHON (default .venv/bin/python) writes the ONNX models.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data=${EDGEOPT_FASHION_MNIST:-$root/data/fashion-mnist}
out=$root/out/distill
seeds="1 2 3"
teacher=
teacher_epochs=6
student_epochs=5
parallel=2
threads=1
lambda=0.5
temperature=2
val_split=0
while [ $# -gt 0 ]; do
  case $1 in
    --data) data=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --teacher) teacher=$2; shift 2 ;;
    --teacher-epochs) teacher_epochs=$2; shift 2 ;;
    --lambda) lambda=$2; shift 2 ;;
    --temperature) temperature=$2; shift 2 ;;
    --val-split) val_split=$2; shift 2 ;;
    --student-epochs) student_epochs=$2; shift 2 ;;
    --parallel) parallel=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    -h|--help) sed -n 2,26p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
py=${PYTHON:-$root/.venv/bin/python}
# EDGEOPT: a prebuilt binary (else target/release/edgeopt, built now).
edgeopt=${EDGEOPT:-$root/target/release/edgeopt}
if [ -z "${EDGEOPT:-}" ]; then (cd "$root" && cargo build --release -p edgeopt-cli); fi
mkdir -p "$out"
common=(--data "$data" --optimizer sgd --nesterov --momentum 0.9 --lr 0.05 --weight-decay 5e-4
        --schedule cosine --batch-size 64 --threads "$threads" --val-split "$val_split")

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

# The from-scratch students do not need the teacher: they run beside its training.
for s in $seeds; do
  wait_slot "$parallel"
  run "scratch-seed$s" train "$out/models/seed$s/student8.onnx" --epochs "$student_epochs" --seed "$s" &
done
if [ -z "$teacher" ]; then
  run teacher train "$out/models/teacher3.onnx" --epochs "$teacher_epochs" --seed 0
  teacher=$out/teacher/model.onnx
fi
mkdir -p "$out/teacher"
if [ ! -f "$out/teacher/eval.json" ]; then
  nice -n 5 "$edgeopt" eval "$teacher" --data "$data" --json > "$out/teacher/eval.json"
fi
echo "teacher ($teacher), test set: $(cat "$out/teacher/eval.json")"
# Without a validation split every seed trains on the same set: one logits file for all,
# computed once here (beside the from-scratch runs); with one, each run computes its own.
if [ "$val_split" = 0 ] && [ ! -f "$out/teacher-logits.bin" ]; then
  wait_slot "$parallel"
  echo "teacher logits: start $(date -u +%H:%M:%S)"
  nice -n 5 "$edgeopt" distill --teacher "$teacher" --teacher-cache "$out/teacher-logits.bin" \
    --student "$out/models/student8.onnx" --data "$data" --epochs 0 --threads "$threads" \
    2>&1 | grep -a "teacher logits"
fi
for s in $seeds; do
  cache=$out/teacher-logits.bin
  if [ "$val_split" != 0 ]; then cache=$out/teacher-logits-seed$s.bin; fi
  wait_slot "$parallel"
  run "distill-seed$s" distill --teacher "$teacher" --teacher-cache "$cache" \
    --student "$out/models/seed$s/student8.onnx" --lambda "$lambda" --temperature "$temperature" \
    --epochs "$student_epochs" --seed "$s" &
done
wait

where="test set"
if [ "$val_split" != 0 ]; then where="validation split $val_split of the training set"; fi
"$py" - "$out" "$where" "$lambda" "$temperature" "$student_epochs" $seeds <<'PY' | tee "$out/summary.txt"
import csv, sys
out, where, lam, temp, epochs, seeds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:]
def curve(kind, s):
    with open(f"{out}/{kind}-seed{s}/log.csv") as f:
        return [100 * float(r["val_accuracy"]) for r in csv.DictReader(f)]
print(f"student8, {epochs} epochs, distillation lambda {lam}, T {temp}; accuracy (%) on the {where}")
print("| seed | from scratch, per epoch | distilled, per epoch | gain (final) |")
print("|---:|---|---|---:|")
final = {"scratch": [], "distill": []}
for s in seeds:
    c = {k: curve(k, s) for k in final}
    for k in final:
        final[k].append(c[k][-1])
    fmt = lambda v: ", ".join(f"{x:.2f}" for x in v)
    print(f"| {s} | {fmt(c['scratch'])} | {fmt(c['distill'])} | {c['distill'][-1] - c['scratch'][-1]:+.2f} |")
m = {k: sum(v) / len(v) for k, v in final.items()}
print(f"| **mean** | **{m['scratch']:.2f}** | **{m['distill']:.2f}** | **{m['distill'] - m['scratch']:+.2f}** |")
print(f"distillation gain: {m['distill'] - m['scratch']:+.2f} points (mean over seeds {' '.join(seeds)})")
PY
