#!/usr/bin/env python3
"""edgeopt vs ONNX Runtime, side by side in one run.

For each model and thread count, the two engines run alternately in fresh processes (warm-up,
then timed runs); each engine's figure is the median over repeats of its per-process median
latency. Ratios (edgeopt / ORT) are what to quote: the machine is shared and noisy.

Also measured in the same run: the single-core FMA peak (a small AVX2 microbenchmark compiled
with gcc here, or edgeopt's own when gcc is missing; and the AVX-512 one where the CPU has
AVX-512F: edgeopt's % of peak is against the peak of the instruction set its kernels use,
AVX-512 unless EDGEOPT_KERNELS forces avx2/generic), effective GFLOP/s of each engine
(2 * MACs / median latency, MACs of Conv/Gemm/MatMul as edgeopt counts them), peak RSS of each
worker process (VmHWM: model load + runs) and edgeopt's load+plan time.

    python scripts/bench_vs_ort.py --edgeopt target/release/edgeopt --models-dir out/bench/models \
        [--models mobilenetv2,resnet18] [--threads 1,2] [--repeats 5] [--json out.json] [--md out.md]

`--int8` (issue 4) benchmarks int8 instead: each model is quantized with `edgeopt quantize`
(static QDQ, per-channel s8 weights, u8 activations by default, `--int8-calib` samples of random
calibration data: enough for speed, not for accuracy) into <models-dir>/<model>.int8.onnx, then
edgeopt fp32 (float file), edgeopt int8 and ONNX Runtime int8 (the same QDQ file), and ONNX
Runtime fp32 for scale, alternate in fresh processes. Reported: medians, int8/fp32 and
edgeopt/ORT ratios, file sizes, the int8 table edgeopt used.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

PEAK_C = r"""
#include <immintrin.h>
#include <stdio.h>
#include <time.h>
static double secs(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
                           return t.tv_sec + 1e-9 * t.tv_nsec; }
int main(void) {
    /* 10 independent accumulators cover FMA latency x 2 pipes. */
    __m256 x0 = _mm256_set1_ps(1), x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0, x6 = x0,
           x7 = x0, x8 = x0, x9 = x0;
    const __m256 m = _mm256_set1_ps(0.9999999f), a = _mm256_set1_ps(1e-8f);
    double best = 0;
    for (int rep = 0; rep < 7; rep++) {
        long n = 50000000;
        double t = secs();
        for (long i = 0; i < n; i++) {
            x0 = _mm256_fmadd_ps(x0, m, a); x1 = _mm256_fmadd_ps(x1, m, a);
            x2 = _mm256_fmadd_ps(x2, m, a); x3 = _mm256_fmadd_ps(x3, m, a);
            x4 = _mm256_fmadd_ps(x4, m, a); x5 = _mm256_fmadd_ps(x5, m, a);
            x6 = _mm256_fmadd_ps(x6, m, a); x7 = _mm256_fmadd_ps(x7, m, a);
            x8 = _mm256_fmadd_ps(x8, m, a); x9 = _mm256_fmadd_ps(x9, m, a);
        }
        double g = 10.0 * 8 * 2 * n / (secs() - t) / 1e9;
        if (g > best) best = g;
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(x0, x1), _mm256_add_ps(x2, x3)),
               _mm256_add_ps(_mm256_add_ps(x4, x5), _mm256_add_ps(_mm256_add_ps(x6, x7),
               _mm256_add_ps(x8, x9))));
    float out[8]; _mm256_storeu_ps(out, s);
    printf("%.2f %g\n", best, out[0]);
    return 0;
}
"""

# Input shapes for models with dynamic dimensions (PP-OCR), as rapidocr feeds them.
DEFAULT_SHAPES = {
    "ppocr_det": "1x3x480x480",
    "ppocr_cls": "1x3x48x192",
    "ppocr_rec": "1x3x48x320",
}


def has_avx512():
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and " avx512f" in line for line in f)
    except OSError:
        return False


def avx512_peak():
    """Best-of-7 single-core AVX-512 FMA GFLOP/s (the AVX2 loop on 16-lane registers), or None."""
    if not has_avx512():
        return None
    src = PEAK_C.replace("__m256", "__m512").replace("_mm256_", "_mm512_").replace(
        "10.0 * 8 * 2", "10.0 * 16 * 2").replace("float out[8]", "float out[16]")
    return fma_peak(None, src, ["-mavx512f"])


def fma_peak(edgeopt, source=PEAK_C, flags=("-mavx2", "-mfma")):
    """Best-of-7 single-core AVX2 FMA GFLOP/s, or None when it can't be measured here."""
    with tempfile.TemporaryDirectory() as d:
        src, exe = os.path.join(d, "peak.c"), os.path.join(d, "peak")
        with open(src, "w") as f:
            f.write(source)
        try:
            subprocess.run(["gcc", "-O2", *flags, src, "-o", exe], check=True,
                           capture_output=True)
            return float(subprocess.run([exe], check=True, capture_output=True,
                                        text=True).stdout.split()[0])
        except (OSError, subprocess.CalledProcessError):
            pass
    if edgeopt is None:
        return None
    try:
        out = subprocess.run([edgeopt, "profile", "--peak-only", "--json"], check=True,
                             capture_output=True, text=True).stdout
        return float(json.loads(out)["fma_peak_gflops"])
    except (OSError, subprocess.CalledProcessError, KeyError, ValueError):
        return None


def vm_hwm_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


def ort_worker(args):
    """Runs in a fresh process: load, warm up, time; prints one JSON line."""
    import numpy as np
    import onnxruntime as ort

    t0 = time.perf_counter()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(args.worker, opts, providers=["CPUExecutionProvider"])
    load_ms = (time.perf_counter() - t0) * 1e3
    inp = sess.get_inputs()[0]
    shape = [int(d) for d in args.shape.split("x")] if args.shape else \
        [d if isinstance(d, int) else 1 for d in inp.shape]
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    feed = {inp.name: x}
    for _ in range(args.warmup):
        sess.run(None, feed)
    times = []
    start = time.perf_counter()
    while len(times) < args.runs or time.perf_counter() - start < args.min_time:
        t = time.perf_counter()
        sess.run(None, feed)
        times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    print(json.dumps({"p50_ms": statistics.median(times), "p90_ms": times[int(0.9 * (len(times) - 1))],
                      "runs": len(times), "load_ms": load_ms, "peak_rss_bytes": vm_hwm_bytes()}))


def run_ort(model, shape, threads, a):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", model, "--threads", str(threads),
           "--runs", str(a.runs), "--warmup", str(a.warmup), "--min-time", str(a.min_time)]
    if shape:
        cmd += ["--shape", shape]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_edgeopt(model, shape, threads, a):
    cmd = [a.edgeopt, "bench", model, "--threads", str(threads), "--runs", str(a.runs),
           "--warmup", str(a.warmup), "--json"]
    if shape:
        cmd += ["--shape", shape]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def model_macs(edgeopt, model, shape):
    cmd = [edgeopt, "inspect", model, "--json"]
    if shape:
        cmd += ["--shape", shape]
    info = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    return int(info.get("macs", 0)), info.get("planned_peak_bytes")


def first_input(model):
    import onnx
    m = onnx.load(model, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    return next(i.name for i in m.graph.input if i.name not in inits)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--edgeopt", default="target/release/edgeopt")
    p.add_argument("--models-dir", default="out/bench/models")
    p.add_argument("--models", help="comma-separated (default: all; with --int8 mobilenetv2,resnet18)")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--min-time", type=float, default=1.0)
    p.add_argument("--int8", action="store_true",
                   help="int8 mode: quantize with edgeopt, then edgeopt fp32 / int8 vs ORT int8 / fp32")
    p.add_argument("--int8-calib", type=int, default=8, help="random calibration samples (--int8)")
    p.add_argument("--int8-args", default="", help="extra `edgeopt quantize` arguments (--int8)")
    p.add_argument("--requantize", action="store_true", help="re-run edgeopt quantize even if the file exists")
    p.add_argument("--json")
    p.add_argument("--md")
    # worker mode
    p.add_argument("--worker")
    p.add_argument("--shape")
    a = p.parse_args()
    if a.worker:
        a.threads = int(a.threads)
        return ort_worker(a)

    if a.int8:
        a.models = a.models or "mobilenetv2,resnet18"
        return int8_main(a)
    a.models = a.models or "mobilenetv2,resnet18,mnist_cnn,mlp,ppocr_det,ppocr_cls,ppocr_rec"
    peak_avx2 = fma_peak(a.edgeopt)
    peak_avx512 = avx512_peak()
    forced = os.environ.get("EDGEOPT_KERNELS", "").strip() in ("avx2", "fma", "x86_64_fma", "generic")
    peak, isa = (peak_avx512, "AVX-512") if peak_avx512 and not forced else (peak_avx2, "AVX2")
    rows = []
    for name in a.models.split(","):
        variants = [(name, "fp32")]
        if a.int8:
            variants.append((name + ".int8", "int8"))
        for stem, kind in variants:
            path = os.path.join(a.models_dir, stem + ".onnx")
            if not os.path.exists(path):
                print(f"skip {stem}: {path} not found", file=sys.stderr)
                continue
            dims = DEFAULT_SHAPES.get(name)
            shape = f"{first_input(path)}={dims}" if dims else None
            macs, planned = model_macs(a.edgeopt, path, shape)
            for threads in [int(t) for t in a.threads.split(",")]:
                eo, ort = [], []
                for rep in range(a.repeats):
                    # Alternate which engine goes first so drifts in load hit both alike.
                    order = [("edgeopt", eo), ("ort", ort)] if rep % 2 == 0 else [("ort", ort), ("edgeopt", eo)]
                    for engine, acc in order:
                        r = run_edgeopt(path, shape, threads, a) if engine == "edgeopt" \
                            else run_ort(path, dims, threads, a)
                        acc.append(r)
                med = lambda rs, k: statistics.median(r[k] for r in rs if r.get(k) is not None)
                row = {
                    "model": stem, "kind": kind, "threads": threads, "macs": macs,
                    "edgeopt_p50_ms": med(eo, "p50_ms"), "ort_p50_ms": med(ort, "p50_ms"),
                    "edgeopt_rss_bytes": med(eo, "peak_rss_bytes"), "ort_rss_bytes": med(ort, "peak_rss_bytes"),
                    # edgeopt reports loading and planning (optimize, lower, pack) separately.
                    "edgeopt_load_ms": statistics.median(r["load_ms"] + r.get("plan_ms", 0.0) for r in eo),
                    "ort_load_ms": med(ort, "load_ms"),
                    "planned_peak_bytes": planned,
                }
                row["ratio"] = row["edgeopt_p50_ms"] / row["ort_p50_ms"]
                row["ratio_per_repeat"] = [e["p50_ms"] / o["p50_ms"] for e, o in zip(eo, ort)]
                for eng in ("edgeopt", "ort"):
                    g = 2 * macs / (row[f"{eng}_p50_ms"] * 1e-3) / 1e9 if macs else None
                    row[f"{eng}_gflops"] = g
                    row[f"{eng}_peak_frac"] = g / (peak * threads) if g and peak else None
                rows.append(row)
                print(f"{stem:20s} t={threads} edgeopt {row['edgeopt_p50_ms']:9.3f} ms  ort {row['ort_p50_ms']:9.3f} ms"
                      f"  ratio {row['ratio']:.3f}", file=sys.stderr, flush=True)

    load = os.getloadavg()
    both = f"AVX2 {peak_avx2:.1f}" if peak_avx2 else "AVX2 not measured"
    if peak_avx512:
        both += f", AVX-512 {peak_avx512:.1f}"
    md = [f"Machine: {platform.machine()} {os.cpu_count()} CPUs, FMA peak {both} GFLOP/s/core; % peak against {isa}"
          if peak else f"Machine: {platform.machine()} {os.cpu_count()} CPUs, FMA peak not measured",
          f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
          f"Repeats: {a.repeats} alternating fresh processes per engine, >= {a.runs} runs and {a.min_time} s each",
          "",
          "| model | threads | MACs | edgeopt ms | ORT ms | edgeopt/ORT | ratio range | edgeopt GFLOP/s (% peak) | ORT GFLOP/s | RSS edgeopt / ORT MiB | load+plan ms edgeopt / ORT |",
          "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        g = f"{r['edgeopt_gflops']:.1f} ({100 * r['edgeopt_peak_frac']:.0f}%)" if r["edgeopt_peak_frac"] else "-"
        go = f"{r['ort_gflops']:.1f}" if r["ort_gflops"] else "-"
        rng = f"{min(r['ratio_per_repeat']):.2f}-{max(r['ratio_per_repeat']):.2f}"
        md.append(f"| {r['model']} | {r['threads']} | {r['macs'] / 1e6:.1f} M | {r['edgeopt_p50_ms']:.3f} | {r['ort_p50_ms']:.3f} | "
                  f"**{r['ratio']:.2f}** | {rng} | {g} | {go} | {r['edgeopt_rss_bytes'] / 2**20:.0f} / {r['ort_rss_bytes'] / 2**20:.0f} | "
                  f"{r['edgeopt_load_ms']:.1f} / {r['ort_load_ms']:.1f} |")
    text = "\n".join(md)
    print(text)
    if a.md:
        with open(a.md, "w") as f:
            f.write(text + "\n")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"fma_peak_gflops": peak, "fma_peak_isa": isa, "avx2_peak_gflops": peak_avx2,
                       "avx512_peak_gflops": peak_avx512, "load": load, "rows": rows}, f, indent=1)


def quantize(a, name, src, dims):
    """<models-dir>/<name>.int8.onnx from `edgeopt quantize` (reused unless --requantize)."""
    dst = os.path.join(a.models_dir, name + ".int8.onnx")
    if os.path.exists(dst) and not a.requantize:
        return dst
    cmd = [a.edgeopt, "quantize", src, "--calib", "random", "--samples", str(a.int8_calib), "-o", dst]
    if dims:
        cmd += ["--shape", f"{first_input(src)}={dims}"]
    cmd += a.int8_args.split()
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return dst


def int8_agreement(a, qpath, dims):
    """Max and mean |edgeopt int8 - ORT int8| on one random input, in steps of the model
    output's quantization scale (the last DequantizeLinear), and whether the argmax agrees."""
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper
    m = onnx.load(qpath)
    name = first_input(qpath)
    inp = next(i for i in m.graph.input if i.name == name)
    shape = [int(d) for d in dims.split("x")] if dims else \
        [d.dim_value or 1 for d in inp.type.tensor_type.shape.dim]
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    with tempfile.TemporaryDirectory() as d:
        xin, out = os.path.join(d, "x.npy"), os.path.join(d, "y.npz")
        np.save(xin, x)
        subprocess.run([a.edgeopt, "run", qpath, "-i", f"{name}={xin}", "-o", out, "--threads", "1"],
                       check=True, capture_output=True)
        eo = list(np.load(out).values())[0]
    o = ort.InferenceSession(qpath, providers=["CPUExecutionProvider"]).run(None, {name: x})[0]
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    last = [n for n in m.graph.node if n.op_type == "DequantizeLinear"][-1]
    step = float(inits[last.input[1]]) if last.input[1] in inits else 1.0
    diff = np.abs(eo.astype(np.float64) - o)
    return {"max_steps": float(diff.max() / step), "mean_steps": float(diff.mean() / step),
            "argmax_equal": bool(eo.argmax() == o.argmax())}


def int8_main(a):
    """The int8 table: edgeopt fp32 / int8 and ORT int8 / fp32, alternating fresh processes."""
    rows = []
    engines = ["edgeopt_fp32", "edgeopt_int8", "ort_int8", "ort_fp32"]
    for name in a.models.split(","):
        src = os.path.join(a.models_dir, name + ".onnx")
        if not os.path.exists(src):
            print(f"skip {name}: {src} not found", file=sys.stderr)
            continue
        dims = DEFAULT_SHAPES.get(name)
        qpath = quantize(a, name, src, dims)
        agree = int8_agreement(a, qpath, dims)
        files = {"edgeopt_fp32": src, "edgeopt_int8": qpath, "ort_int8": qpath, "ort_fp32": src}
        for threads in [int(t) for t in a.threads.split(",")]:
            res = {e: [] for e in engines}
            for rep in range(a.repeats):
                order = engines if rep % 2 == 0 else engines[::-1]
                for e in order:
                    path = files[e]
                    shape = f"{first_input(path)}={dims}" if dims else None
                    r = run_edgeopt(path, shape, threads, a) if e.startswith("edgeopt") \
                        else run_ort(path, dims, threads, a)
                    res[e].append(r)
            med = {e: statistics.median(r["p50_ms"] for r in res[e]) for e in engines}
            row = {"model": name, "threads": threads, "int8_table": res["edgeopt_int8"][0].get("int8_kernels"),
                   "fp32_bytes": os.path.getsize(src), "int8_bytes": os.path.getsize(qpath),
                   **{f"{e}_ms": med[e] for e in engines},
                   "int8_over_fp32": med["edgeopt_int8"] / med["edgeopt_fp32"],
                   "int8_over_ort_int8": med["edgeopt_int8"] / med["ort_int8"],
                   "ratio_per_repeat": [x["p50_ms"] / y["p50_ms"] for x, y in zip(res["edgeopt_int8"], res["ort_int8"])],
                   "edgeopt_int8_load_ms": statistics.median(r["load_ms"] + r.get("plan_ms", 0.0) for r in res["edgeopt_int8"]),
                   "vs_ort": agree}
            rows.append(row)
            print(f"{name:14s} t={threads} edgeopt fp32 {med['edgeopt_fp32']:8.3f} int8 {med['edgeopt_int8']:8.3f} ms"
                  f"  ort int8 {med['ort_int8']:8.3f} fp32 {med['ort_fp32']:8.3f} ms", file=sys.stderr, flush=True)
    load = os.getloadavg()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?") \
        if os.path.exists("/proc/cpuinfo") else platform.processor()
    md = [f"Machine: {platform.machine()} {os.cpu_count()} CPUs ({cpu})",
          f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
          f"Repeats: {a.repeats} alternating fresh processes per engine, >= {a.runs} runs and {a.min_time} s each; "
          f"QDQ files from `edgeopt quantize --calib random --samples {a.int8_calib} {a.int8_args}`",
          "",
          "| model | threads | edgeopt fp32 ms | edgeopt int8 ms | ORT int8 ms | ORT fp32 ms | edgeopt int8/fp32 | edgeopt/ORT int8 | ratio range | file fp32 / int8 MB | edgeopt int8 table | output vs ORT int8: max / mean steps, argmax |",
          "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---|"]
    for r in rows:
        rng = f"{min(r['ratio_per_repeat']):.2f}-{max(r['ratio_per_repeat']):.2f}"
        md.append(f"| {r['model']} | {r['threads']} | {r['edgeopt_fp32_ms']:.3f} | {r['edgeopt_int8_ms']:.3f} | "
                  f"{r['ort_int8_ms']:.3f} | {r['ort_fp32_ms']:.3f} | **{r['int8_over_fp32']:.2f}** | "
                  f"**{r['int8_over_ort_int8']:.2f}** | {rng} | {r['fp32_bytes'] / 1e6:.1f} / {r['int8_bytes'] / 1e6:.1f} "
                  f"({r['fp32_bytes'] / r['int8_bytes']:.2f}x) | {r['int8_table'] or '-'} | "
                  f"{r['vs_ort']['max_steps']:.2f} / {r['vs_ort']['mean_steps']:.2f}, "
                  f"{'same' if r['vs_ort']['argmax_equal'] else 'DIFFERENT'} |")
    text = "\n".join(md)
    print(text)
    if a.md:
        with open(a.md, "w") as f:
            f.write(text + "\n")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"load": load, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
