#!/usr/bin/env bash
# Cross-checks any ONNX model against ONNX Runtime: scripts/crosscheck.sh MODEL [--dim N=1] [--seed S]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup-python.sh"
[ -x "$root/target/release/edgeopt" ] || (cd "$root" && cargo build --release -q -p edgeopt-cli)
exec "$root/.venv/bin/python" "$root/scripts/crosscheck.py" "$@"
