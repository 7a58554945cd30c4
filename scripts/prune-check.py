#!/usr/bin/env python3
"""Checks a pruned model with onnx and ONNX Runtime.

usage: prune-check.py ORIGINAL.onnx PRUNED.onnx [MASKED.onnx]

- the pruned model passes onnx.checker (full check, strict shape inference),
- ONNX Runtime loads and runs it on seeded random inputs, output shapes equal the original's,
- if MASKED.onnx is given (`edgeopt prune --mask-only`, same plan): the pruned model's outputs
  equal the masked model's within 1e-4 relative (removing channels whose downstream weights
  are zero must not change the function).
Exits 0 when every check passes; prints one line per check.
"""
import sys

import numpy as np
import onnx
import onnxruntime as ort


def feeds(sess, seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for i in sess.get_inputs():
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in i.shape]
        # Dynamic spatial dims (PP-OCR det): a size the strides divide.
        shape = [64 if (k >= 2 and not isinstance(d, int)) else s
                 for k, (d, s) in enumerate(zip(i.shape, shape))]
        out[i.name] = rng.uniform(-1, 1, shape).astype(np.float32)
    return out


def run(path, f):
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return sess, sess.run(None, f)


def main():
    orig, pruned = sys.argv[1], sys.argv[2]
    masked = sys.argv[3] if len(sys.argv) > 3 else None
    m = onnx.load(pruned)
    onnx.checker.check_model(m, full_check=True)
    onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
    print("onnx checker + strict shape inference: ok")
    # Feeds follow the pruned model's inputs (fixed by --shape when the original is dynamic).
    psess, _ = ort.InferenceSession(pruned, providers=["CPUExecutionProvider"]), None
    f = feeds(psess)
    _, ref = run(orig, f)
    got = psess.run(None, f)
    for a, b in zip(ref, got):
        assert a.shape == b.shape, f"output shape {b.shape} != original {a.shape}"
        assert np.isfinite(b).all(), "non-finite outputs"
    print(f"ORT runs the pruned model: ok, output shapes {[g.shape for g in got]}")
    if masked:
        _, want = run(masked, f)
        for a, b in zip(want, got):
            scale = max(1.0, float(np.abs(a).max()))
            d = float(np.abs(a - b).max()) / scale
            assert d <= 1e-4, f"pruned vs masked differ by {d}"
            print(f"pruned == masked (ORT): max rel diff {d:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
