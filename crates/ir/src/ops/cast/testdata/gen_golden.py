"""Generates golden.txt for cast/convert.rs tests from the ONNX python reference.

Run with the repo's venv: `.venv/bin/python gen_golden.py > golden.txt` (onnx, numpy, ml_dtypes).

* `decode <dtype> <hex f32 bits...>`: every code (256 for 8-bit types, 16 for 4-bit, 4 for 2-bit)
  decoded to f32 by ml_dtypes.
* `encode <dtype> <mode> <fnv1a64 hex>`: FNV-1a 64 hash of the output codes for the f32 inputs
  `(k << 16) | low` for k in 0..65536 and low in (0, 1, 0xFFFF), in that order (k outer). This grid
  holds every bfloat16 value, so every f8/f4 value, every rounding midpoint, and values just
  above and below each of them. Outputs come from onnx.reference.ops.op_cast.cast_to.
"""

import numpy as np
import ml_dtypes
import onnx
from onnx import TensorProto as TP
from onnx.reference.ops.op_cast import cast_to

TYPES = {
    "f8e4m3fn": TP.FLOAT8E4M3FN,
    "f8e4m3fnuz": TP.FLOAT8E4M3FNUZ,
    "f8e5m2": TP.FLOAT8E5M2,
    "f8e5m2fnuz": TP.FLOAT8E5M2FNUZ,
    "f8e8m0": TP.FLOAT8E8M0,
    "f4e2m1": TP.FLOAT4E2M1,
    "u4": TP.UINT4,
    "i4": TP.INT4,
    "u2": TP.UINT2,
    "i2": TP.INT2,
}
NCODES = {"f4e2m1": 16, "u4": 16, "i4": 16, "u2": 4, "i2": 4}


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def codes_of(arr: np.ndarray, name: str) -> bytes:
    raw = arr.view(np.uint8)
    if name in NCODES:
        raw = raw & (NCODES[name] - 1)
    return raw.tobytes()


def main() -> None:
    for name, code in TYPES.items():
        n = NCODES.get(name, 256)
        np_t = onnx.helper.tensor_dtype_to_np_dtype(code)
        vals = np.arange(n, dtype=np.uint8).view(np_t).astype(np.float32)
        print("decode", name, " ".join(f"{v:08x}" for v in vals.view(np.uint32)))

    k = np.arange(65536, dtype=np.uint32) << 16
    grid = np.stack([k, k | 1, k | 0xFFFF], axis=1).reshape(-1).view(np.float32)
    for name, code in TYPES.items():
        if name == "f8e8m0":
            modes = [(s, r) for s in (1, 0) for r in ("up", "nearest", "down")]
        elif name.startswith("f8"):
            modes = [(1, "up"), (0, "up")]
        else:
            modes = [(1, "up")]
        for sat, rnd in modes:
            with np.errstate(all="ignore"):
                out = cast_to(grid, code, bool(sat), rnd)
            tag = f"sat{sat}" + (f"_{rnd}" if name == "f8e8m0" else "")
            print("encode", name, tag, f"{fnv1a64(codes_of(out, name)):016x}")


main()
