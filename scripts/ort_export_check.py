#!/usr/bin/env python3
"""ONNX Runtime must load and run what edgeopt exports.

For each conformance case in the manifest (or given on the command line), re-exports model.onnx
with `edgeopt convert`, runs ONNX Runtime on the original and on the export with the case's
inputs, and requires identical outputs. Cases ONNX Runtime cannot run in their original form
(opsets or ops it lacks) are counted separately, not as failures.
Usage: .venv/bin/python scripts/ort_export_check.py [CASE ...]"""
import glob, os, subprocess, sys, tempfile
import numpy as np
import onnx, onnxruntime as ort
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EDGEOPT = os.path.join(ROOT, "target/release/edgeopt")


def data_dir():
    for d in [os.environ.get("EDGEOPT_ONNX_TESTDATA"), os.path.join(ROOT, "../shared/data/onnx-testdata"),
              os.path.join(ROOT, "data/onnx-testdata")]:
        if d and os.path.isdir(os.path.join(d, "node")):
            return d
    sys.exit("test data not found (scripts/fetch-data.sh)")


def inputs_of(case_dir, model):
    inits = {i.name for i in model.graph.initializer}
    names = [i.name for i in model.graph.input if i.name not in inits]
    feeds = {}
    for i, name in enumerate(names):
        p = os.path.join(case_dir, "test_data_set_0", f"input_{i}.pb")
        if not os.path.exists(p):
            break
        t = onnx.TensorProto()
        with open(p, "rb") as f:
            t.ParseFromString(f.read())
        feeds[name] = numpy_helper.to_array(t)
    return feeds


def equal(g, w):
    """Exact equality (NaNs equal) for tensors, element-wise for sequences and optionals."""
    if isinstance(w, list) or isinstance(g, list):
        return isinstance(g, list) and isinstance(w, list) and len(g) == len(w) and all(equal(a, b) for a, b in zip(g, w))
    if w is None or g is None:
        return g is None and w is None
    g, w = np.asarray(g), np.asarray(w)
    if w.dtype == object or g.dtype == object:
        return g.shape == w.shape and list(g.ravel()) == list(w.ravel())
    return g.shape == w.shape and g.dtype == w.dtype and np.array_equal(g, w, equal_nan=True)


def run(path, feeds):
    so = ort.SessionOptions()
    so.log_severity_level = 4
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"]).run(None, feeds)


def main():
    root = data_dir()
    cases = sys.argv[1:] or [l.split("#")[0].strip() for l in open(os.path.join(ROOT, "tests/conformance/manifest.txt"))]
    cases = [c for c in cases if c]
    same = differ = ort_cannot = tensor_only_skip = 0
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for c in cases:
            d = os.path.join(root, c)
            model = onnx.load(os.path.join(d, "model.onnx"))
            if any(not i.type.HasField("tensor_type") for i in model.graph.input):
                tensor_only_skip += 1
                continue
            feeds = inputs_of(d, model)
            try:
                want = run(os.path.join(d, "model.onnx"), feeds)
            except Exception:
                ort_cannot += 1
                continue
            out = os.path.join(tmp, "m.onnx")
            r = subprocess.run([EDGEOPT, "convert", os.path.join(d, "model.onnx"), out], capture_output=True, text=True)
            if r.returncode != 0:
                differ += 1
                failures.append(f"{c}: edgeopt convert failed: {r.stderr.strip()[:200]}")
                continue
            try:
                got = run(out, feeds)
            except Exception as e:
                differ += 1
                failures.append(f"{c}: ONNX Runtime refused the export: {str(e)[:300]}")
                continue
            if len(got) == len(want) and all(equal(g, w) for g, w in zip(got, want)):
                same += 1
            else:
                differ += 1
                failures.append(f"{c}: outputs differ")
    for f in failures:
        print(f)
    print(f"{same} exports ran identically in ONNX Runtime, {differ} failed; "
          f"{ort_cannot} cases ONNX Runtime cannot run in their original form, {tensor_only_skip} with non-tensor inputs skipped")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
