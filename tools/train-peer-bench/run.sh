#!/usr/bin/env bash
# Side-by-side training throughput: edgeopt (crates/train example `train_bench`) vs burn 0.22
# (flex CPU backend) and candle 0.11, on conv3x3(32)-relu-maxpool-conv3x3(64)-relu-maxpool-fc(10),
# 28x28, batch 64, seeded-noise batch, one fresh process per measurement, engines alternating.
# Prints the median steps/s per engine and thread count, and edgeopt / fastest peer.
#
# usage: [PYTHON=python-with-onnx] tools/train-peer-bench/run.sh [--steps N] [--repeats R]
#        [--threads "1 2"] [--engines "burn candle"]
# Builds the peers here (outside the workspace: ~10 min the first time on an idle 2-core machine,
# over an hour under heavy load) and edgeopt's example.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
steps=20
repeats=3
threads="1 2"
engines="burn candle"
while [ $# -gt 0 ]; do
  case $1 in
    --steps) steps=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --engines) engines=$2; shift 2 ;;
    -h|--help) sed -n 2,10p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
py=${PYTHON:-$root/.venv/bin/python}
(cd "$here" && nice cargo build --release -q --no-default-features --features "$engines")
(cd "$root" && nice cargo build --release -q -p edgeopt-train --example train_bench)
models=$(mktemp -d)
trap 'rm -rf "$models"' EXIT
"$py" "$root/crates/train/scripts/make_models.py" "$models" > /dev/null
peer=$here/target/release/train-peer-bench
ours=$root/target/release/examples/train_bench
results=$(mktemp)
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$repeats"); do
  for t in $threads; do
    v=$("$ours" "$models/bench_cnn.onnx" "$steps" "$t" | sed -n 's/.*, \([0-9.]*\) steps\/s.*/\1/p')
    echo "edgeopt $t $v" >> "$results"
    for e in $engines; do
      v=$(RAYON_NUM_THREADS=$t "$peer" "$e" "$steps" | sed -n 's/.*, \([0-9.]*\) steps\/s.*/\1/p')
      echo "$e $t $v" >> "$results"
    done
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
"$py" - "$results" "$repeats" "$steps" <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1]) if len(l.split()) == 3]
by = {}
for e, t, v in rows:
    by.setdefault((int(t), e), []).append(float(v))
print(f"\n| threads | engine | steps/s (median of {sys.argv[2]} x {sys.argv[3]} steps) | range | edgeopt / engine |")
print("|---:|---|---:|---|---:|")
for t in sorted({k[0] for k in by}):
    ours = st.median(by.get((t, "edgeopt"), [float("nan")]))
    for e in ["edgeopt", "burn", "candle"]:
        v = by.get((t, e))
        if not v:
            continue
        m = st.median(v)
        print(f"| {t} | {e} | {m:.2f} | {min(v):.2f}-{max(v):.2f} | {ours / m:.2f} |")
PY
rm -f "$results"
