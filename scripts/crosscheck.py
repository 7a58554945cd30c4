#!/usr/bin/env python3
"""Cross-checks edgeopt against ONNX Runtime on any ONNX model.

Builds seeded random inputs from the model's declared inputs (symbolic dims from --dim NAME=N,
else 1), runs `edgeopt run` and ONNX Runtime on the same inputs, and prints per output the max
absolute error and the max error relative to the output's largest magnitude
(max|a-b| / max|b|). Exits 1 when any output's relative error exceeds --rtol.

Run through scripts/crosscheck.sh, which installs ONNX Runtime into .venv first.
"""
import argparse, json, os, subprocess, sys, tempfile
import numpy as np
import onnx, onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NP = {1: np.float32, 2: np.uint8, 3: np.int8, 5: np.int16, 6: np.int32, 7: np.int64, 9: np.bool_,
      10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64, 4: np.uint16}


def document_image(shape, rng):
    """A seeded synthetic text page, normalized like PP-OCR's preprocessing ((x/255-0.5)/0.5):
    white background (1.0) with dark strokes (-1.0) grouped into text lines."""
    n, c, h, w = shape
    img = np.ones(shape, np.float32)
    for b in range(n):
        y = int(rng.integers(0, max(1, h // 8)))
        while y < h:
            lh = int(rng.integers(max(2, h // 16), max(3, h // 4)))
            x = int(rng.integers(0, max(1, w // 8)))
            end = int(rng.integers(w // 2, w))
            while x < end:
                cw = int(rng.integers(2, max(3, lh)))
                img[b, :, y:y + lh, x:x + cw] = rng.uniform(-1.0, -0.6)
                x += cw + int(rng.integers(1, max(2, lh // 2)))
            y += lh + int(rng.integers(max(2, h // 16), max(3, h // 4)))
    return img + rng.normal(0, 0.02, shape).astype(np.float32)


def make_inputs(model, dims, shapes, seed, kind="noise"):
    rng = np.random.default_rng(seed)
    inits = {i.name for i in model.graph.initializer}
    feeds = {}
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        tt = vi.type.tensor_type
        shape = []
        if vi.name in shapes:
            shape = shapes[vi.name]
        shape = list(shape)
        for d in ([] if vi.name in shapes else tt.shape.dim):
            if d.HasField("dim_value") and d.dim_value > 0:
                shape.append(d.dim_value)
            else:
                shape.append(dims.get(d.dim_param, 1))
        dt = NP[tt.elem_type]
        if kind == "document" and dt == np.float32 and len(shape) == 4:
            feeds[vi.name] = document_image(shape, rng)
        elif np.issubdtype(dt, np.floating):
            feeds[vi.name] = rng.uniform(-1, 1, shape).astype(dt)
        elif dt == np.bool_:
            feeds[vi.name] = rng.integers(0, 2, shape).astype(dt)
        else:
            feeds[vi.name] = rng.integers(0, 10, shape).astype(dt)
    return feeds


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--dim", action="append", default=[], help="NAME=SIZE for a symbolic dim")
    ap.add_argument("--shape", action="append", default=[], help="NAME=1x3x48x192: an input's full shape")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--inputs", choices=["noise", "document"], default="noise",
                    help="noise: uniform [-1, 1); document: a synthetic text page (4-D float inputs)")
    ap.add_argument("--rtol", type=float, default=1e-4)
    ap.add_argument("--edgeopt", default=os.path.join(ROOT, "target/release/edgeopt"))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--via-export", action="store_true",
                    help="also re-export the model with `edgeopt convert` and check ONNX Runtime gives "
                         "identical outputs on the exported file")
    a = ap.parse_args()
    dims = {k: int(v) for k, v in (d.split("=") for d in a.dim)}
    model = onnx.load(a.model)
    shapes = {k: [int(x) for x in v.split("x")] for k, v in (s.split("=") for s in a.shape)}
    feeds = make_inputs(model, dims, shapes, a.seed, a.inputs)
    with tempfile.TemporaryDirectory() as tmp:
        inp = os.path.join(tmp, "in.npz")
        out = os.path.join(tmp, "out.npz")
        np.savez(inp, **feeds)
        r = subprocess.run([a.edgeopt, "run", a.model, "-i", inp, "-o", out], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"edgeopt failed on {a.model}:\n{r.stderr}", file=sys.stderr)
            return 2
        got = dict(np.load(out))
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    want = dict(zip(names, sess.run(None, feeds)))
    rows, ok = [], True
    if a.via_export:
        with tempfile.TemporaryDirectory() as tmp:
            exported = os.path.join(tmp, "exported.onnx")
            r = subprocess.run([a.edgeopt, "convert", a.model, exported], capture_output=True, text=True)
            if r.returncode != 0:
                print(f"edgeopt convert failed on {a.model}:\n{r.stderr}", file=sys.stderr)
                return 2
            sess2 = ort.InferenceSession(exported, so, providers=["CPUExecutionProvider"])
            again = sess2.run(None, feeds)
        same = all(np.array_equal(x, y, equal_nan=True) for x, y in zip(again, want.values()))
        rows.append({"output": "(ONNX Runtime on edgeopt's export)", "identical": bool(same)})
        ok &= same
    for n in names:
        key = "".join(c if c.isalnum() or c in "._-" else "_" for c in n)
        g, w = got[key].astype(np.float64), want[n].astype(np.float64)
        if g.shape != w.shape:
            rows.append({"output": n, "error": f"shape {g.shape} vs ORT {w.shape}"})
            ok = False
            continue
        abs_err = float(np.max(np.abs(g - w))) if g.size else 0.0
        scale = float(np.max(np.abs(w))) if w.size else 0.0
        rel = abs_err / scale if scale > 0 else abs_err
        passed = rel <= a.rtol
        ok &= passed
        rows.append({"output": n, "shape": list(w.shape), "max_abs_err": abs_err, "max_rel_err": rel, "pass": passed})
    if a.json:
        print(json.dumps({"model": a.model, "outputs": rows, "pass": ok}, indent=1))
    else:
        print(f"{os.path.basename(a.model)} ({a.inputs} seed {a.seed}, inputs {', '.join(f'{k}{list(v.shape)}' for k, v in feeds.items())})")
        for r in rows:
            if "identical" in r:
                print(f"  ONNX Runtime on edgeopt's re-export: {'identical outputs' if r['identical'] else 'DIFFERENT outputs  FAIL'}")
            elif "error" in r:
                print(f"  {r['output']}: {r['error']}  FAIL")
            else:
                print(f"  {r['output']} {r['shape']}: max abs err {r['max_abs_err']:.3e}, "
                      f"max rel err {r['max_rel_err']:.3e}  {'ok' if r['pass'] else 'FAIL (rtol %g)' % a.rtol}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
