#!/usr/bin/env bash
# Sets up everything the tests need (Python reference tools, test data) and runs all tests:
# unit and property tests, bad-input tests, the ONNX conformance manifest (with round trips),
# the aarch64 (NEON) kernel tests under qemu, and the PP-OCR cross-check against ONNX Runtime.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup-python.sh
scripts/fetch-data.sh
cargo test --release --workspace
scripts/test-aarch64.sh
scripts/crosscheck-ppocr.sh
cargo run --release -q -p edgeopt-conformance -- --manifest --quiet | tail -6
.venv/bin/python scripts/ort_export_check.py
