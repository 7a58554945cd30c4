#!/usr/bin/env bash
# Knowledge-distillation experiment of issue 5 (Fashion-MNIST):
#   1. trains the teacher (teacher3.onnx, 5.7 M MACs) with `edgeopt train` and evaluates it,
#      or takes an already trained one (--teacher FILE);
#   2. for each seed, trains the student (--student: student8.onnx, 0.29 M MACs = 1/20 of the
#      teacher, or student_cnn.onnx, 1.0 M MACs = 1/5.5) from scratch with `edgeopt train` and
#      with `edgeopt distill` from the same initial weights (generated with that seed), on the
#      same training images (--limit N: the first N; 0: all 60 000), with the same epochs,
#      schedule, data order and augmentation; without augmentation the teacher's logits are
#      computed once into OUT/teacher-logits*.bin and shared, with it (--crop-padding/--flip)
#      the teacher runs on every augmented batch;
#   3. prints each seed's per-epoch accuracy, the final ones, means and standard deviations
#      (OUT/summary.txt).
# Every run checkpoints each epoch and resumes after a kill; finished runs are skipped.
# The accuracy is on the test set, or with --val-split F on F of the (limited) training set
# held out (seeded by the run's seed): use that to tune, never the test set.
#
# Default protocol (BENCHMARKS.md, "data-limited protocol"): the student's budget is the first
# 3 000 training images (5% of the set) and 15 epochs, for both arms; lambda 0.9, T 4.
#   scripts/distill-experiment.sh --data DIR --teacher TEACHER.onnx
# The full-data protocol of BENCHMARKS.md ("tuned protocol", +0.20 points):
#   scripts/distill-experiment.sh --data DIR --teacher T.onnx --limit 0 --student-epochs 5 \
#     --lambda 0.5 --temperature 2
# Tuning run (validation split of the training set, one seed):
#   scripts/distill-experiment.sh --data DIR --teacher T.onnx --limit 3750 --val-split 0.2 \
#     --seeds 1 --out O
#
# usage: scripts/distill-experiment.sh [--data DIR] [--out DIR] [--seeds "1 2 3"]
#          [--teacher FILE] [--teacher-epochs N] [--student student8|student_cnn]
#          [--limit N] [--student-epochs N] [--lambda L] [--temperature T]
#          [--crop-padding N] [--flip] [--val-split F] [--parallel N] [--threads N]
# Runs under `nice -n 5`. PYTHON (default .venv/bin/python) writes the ONNX models.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data=${EDGEOPT_FASHION_MNIST:-$root/data/fashion-mnist}
out=$root/out/distill
seeds="1 2 3"
teacher=
teacher_epochs=6
student=student8
limit=3000
student_epochs=15
parallel=2
threads=1
lambda=0.9
temperature=4
crop_padding=0
flip=0
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
    --limit) limit=$2; shift 2 ;;
    --crop-padding) crop_padding=$2; shift 2 ;;
    --flip) flip=1; shift ;;
    --no-flip) flip=0; shift ;;
    --student) student=$2; shift 2 ;;
    -h|--help) sed -n 2,33p "$0"; exit 0 ;;
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
# The student's budget, identical for both arms: training images, epochs, augmentation.
budget=(--epochs "$student_epochs" --crop-padding "$crop_padding")
if [ "$limit" != 0 ]; then budget+=(--limit "$limit"); fi
if [ "$flip" = 1 ]; then budget+=(--flip); fi
augmented=0
if [ "$crop_padding" != 0 ] || [ "$flip" = 1 ]; then augmented=1; fi

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
  run "scratch-seed$s" train "$out/models/seed$s/$student.onnx" "${budget[@]}" --seed "$s" &
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
# Without augmentation and validation split every seed trains on the same images: one logits
# file for all, computed once here (beside the from-scratch runs); with a split each run
# computes its own; with augmentation the teacher runs on every augmented batch (no cache).
shared_cache=$out/teacher-logits-limit$limit.bin
if [ "$augmented" = 0 ] && [ "$val_split" = 0 ] && [ ! -f "$shared_cache" ]; then
  wait_slot "$parallel"
  echo "teacher logits: start $(date -u +%H:%M:%S)"
  limit_arg=()
  if [ "$limit" != 0 ]; then limit_arg=(--limit "$limit"); fi
  nice -n 5 "$edgeopt" distill --teacher "$teacher" --teacher-cache "$shared_cache" \
    --student "$out/models/$student.onnx" --data "$data" "${limit_arg[@]}" --epochs 0 \
    --threads "$threads" 2>&1 | grep -a "teacher logits"
fi
for s in $seeds; do
  cache=(--teacher-cache "$shared_cache")
  if [ "$val_split" != 0 ]; then cache=(--teacher-cache "$out/teacher-logits-limit$limit-seed$s.bin"); fi
  if [ "$augmented" = 1 ]; then cache=(); fi
  wait_slot "$parallel"
  run "distill-seed$s" distill --teacher "$teacher" "${cache[@]}" \
    --student "$out/models/seed$s/$student.onnx" --lambda "$lambda" --temperature "$temperature" \
    "${budget[@]}" --seed "$s" &
done
wait

where="test set"
if [ "$val_split" != 0 ]; then where="validation split $val_split of the training set"; fi
images="all training images"
if [ "$limit" != 0 ]; then images="the first $limit training images"; fi
aug="no augmentation"
if [ "$augmented" = 1 ]; then aug="augmentation: crop padding $crop_padding, flip $flip (teacher on the augmented batch)"; fi
"$py" - "$out" "$where" "$student, $images, $student_epochs epochs, $aug; distillation lambda $lambda, T $temperature" $seeds <<'PY' | tee "$out/summary.txt"
import csv, statistics, sys
out, where, setup, seeds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
def curve(kind, s):
    with open(f"{out}/{kind}-seed{s}/log.csv") as f:
        return [100 * float(r["val_accuracy"]) for r in csv.DictReader(f)]
print(f"{setup}; accuracy (%) on the {where}")
print("| seed | from scratch, per epoch | distilled, per epoch | scratch | distilled | gain |")
print("|---:|---|---|---:|---:|---:|")
final = {"scratch": [], "distill": []}
fmt = lambda v: ", ".join(f"{x:.2f}" for x in v)
for s in seeds:
    c = {k: curve(k, s) for k in final}
    for k in final:
        final[k].append(c[k][-1])
    print(f"| {s} | {fmt(c['scratch'])} | {fmt(c['distill'])} | {c['scratch'][-1]:.2f} "
          f"| {c['distill'][-1]:.2f} | {c['distill'][-1] - c['scratch'][-1]:+.2f} |")
gains = [d - a for a, d in zip(final["scratch"], final["distill"])]
sd = statistics.stdev
m = {k: statistics.mean(v) for k, v in final.items()}
print(f"| **mean** | | | **{m['scratch']:.2f}** | **{m['distill']:.2f}** | **{statistics.mean(gains):+.2f}** |")
spread = ""
if len(seeds) > 1:
    print(f"| std (over seeds) | | | {sd(final['scratch']):.2f} | {sd(final['distill']):.2f} | {sd(gains):.2f} |")
    spread = f", std {sd(gains):.2f}"
print(f"distillation gain: {statistics.mean(gains):+.2f} points (mean over seeds {' '.join(seeds)}{spread})")
PY
