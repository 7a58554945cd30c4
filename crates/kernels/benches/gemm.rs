//! GEMM throughput on conv-as-GEMM shapes: the native table and the generic one at 1 and 2
//! threads, the naive f64 reference, and this core's FMA peak for scale. Prints a markdown
//! table for BENCHMARKS.md.
//!
//! `cargo bench -p edgeopt-kernels --bench gemm [-- ROUNDS]`
//!
//! Implementations are timed round-robin (one timing of each per round, median over rounds),
//! so a load change on a shared machine hits all of them alike: compare within a row.

use std::hint::black_box;
use std::time::{Duration, Instant};

use edgeopt_kernels::{reference, GemmParams, Kernels, MatMut, MatRef, PackedB};

/// (name, M, N, K, B transposed): convolutions as `W[Cout x Cin*kh*kw] * im2col[Cin*kh*kw x H*W]`,
/// and a batch-1 fully-connected layer with its weights stored `[K, N]` (MatMul) or `[N, K]`
/// (ONNX Gemm with transB = 1).
const SHAPES: [(&str, usize, usize, usize, bool); 6] = [
    ("3x3 64->64 @56 (M64 N3136 K576)", 64, 3136, 576, false),
    ("1x1 64->128 @56 (M128 N3136 K64)", 128, 3136, 64, false),
    ("3x3 256->256 @14 (M256 N196 K2304)", 256, 196, 2304, false),
    (
        "fc 1024->1000 batch 1 (M1 N1000 K1024)",
        1,
        1000,
        1024,
        false,
    ),
    ("fc 1024->1000 batch 1, B transposed", 1, 1000, 1024, true),
    ("square 512", 512, 512, 512, false),
];

fn random(len: usize, mut s: u64) -> Vec<f32> {
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}

/// CPU time of the calling thread in seconds: unlike wall time it does not count the slices
/// other processes get on a shared machine. (Linux's schedstat file is only updated at
/// scheduler ticks, too coarse for 20 ms timings.)
fn thread_cpu() -> Option<f64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write to.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then_some(ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9)
}

/// Seconds per call of `f`, repeated for ~20 ms: thread CPU time for single-threaded calls
/// (where available), wall time otherwise (a multithreaded call's helpers are other threads).
fn time(single_thread: bool, f: &mut dyn FnMut()) -> f64 {
    let clock = |single: bool| match thread_cpu() {
        Some(t) if single => t,
        _ => {
            static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
            START.get_or_init(Instant::now).elapsed().as_secs_f64()
        }
    };
    let t = Instant::now();
    f();
    let once = t.elapsed().max(Duration::from_micros(1)).as_secs_f64();
    let reps = ((0.02 / once).ceil() as usize).clamp(1, 10_000);
    let t0 = clock(single_thread);
    for _ in 0..reps {
        f();
    }
    (clock(single_thread) - t0) / reps as f64
}

/// A named implementation writing C.
type Run<'a> = (&'static str, Box<dyn FnMut(&mut [f32]) + 'a>);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Single-core FMA peak (GFLOP/s): 12 independent 8-lane FMA chains, as in fma_peak.c.
#[cfg(target_arch = "x86_64")]
fn fma_peak() -> Option<f64> {
    use std::arch::x86_64::*;
    #[target_feature(enable = "avx2,fma")]
    unsafe fn chains(iters: usize) -> f32 {
        let mut acc = [_mm256_set1_ps(1.0); 12];
        let (a, b) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
        for _ in 0..iters {
            for x in acc.iter_mut() {
                *x = _mm256_fmadd_ps(*x, a, b);
            }
        }
        let mut out = [0f32; 8];
        let s = acc
            .iter()
            .fold(_mm256_setzero_ps(), |s, x| _mm256_add_ps(s, *x));
        // SAFETY: `out` holds 8 floats.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), s) };
        out[0]
    }
    if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
        return None;
    }
    let iters = 2_000_000;
    let best = (0..5)
        .map(|_| {
            let secs = time(true, &mut || {
                // SAFETY: AVX2 and FMA were detected above.
                black_box(unsafe { chains(black_box(iters)) });
            });
            2.0 * 8.0 * 12.0 * iters as f64 / secs / 1e9
        })
        .fold(0f64, f64::max);
    Some(best)
}

#[cfg(not(target_arch = "x86_64"))]
fn fma_peak() -> Option<f64> {
    None
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(7);
    let peak = fma_peak();
    let native = Kernels::native();
    let generic = Kernels::generic();
    println!(
        "native table: {} (tile {:?}), rounds: {rounds}, FMA peak: {}",
        native.name(),
        native.tile(),
        peak.map_or("n/a".into(), |p| format!("{p:.1} GFLOP/s")),
    );
    println!();
    println!(
        "| shape | {0} 1t | {0} 2t | {0} 1t prepacked | generic 1t | generic 2t | naive f64 |",
        native.name()
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (name, m, n, k, trans_b) in SHAPES {
        let a = random(m * k, 1);
        let b = random(k * n, 2);
        let mut c = vec![0f32; m * n];
        let am = MatRef::row_major(&a, m, k).unwrap();
        let bm = if trans_b {
            MatRef::row_major(&b, n, k).unwrap().t()
        } else {
            MatRef::row_major(&b, k, n).unwrap()
        };
        let packed = PackedB::with_kernels(native, bm).unwrap();
        let flops = 2.0 * (m * n * k) as f64;
        let p1 = GemmParams::default();
        let p2 = GemmParams { threads: 2, ..p1 };
        let mut runs: Vec<Run> = vec![
            (
                "n1",
                Box::new(|c| {
                    native
                        .gemm(&p1, am, bm, MatMut::row_major(c, m, n).unwrap())
                        .unwrap()
                }),
            ),
            (
                "n2",
                Box::new(|c| {
                    native
                        .gemm(&p2, am, bm, MatMut::row_major(c, m, n).unwrap())
                        .unwrap()
                }),
            ),
            (
                "np",
                Box::new(|c| {
                    native
                        .gemm_prepacked(&p1, am, &packed, MatMut::row_major(c, m, n).unwrap())
                        .unwrap()
                }),
            ),
            (
                "g1",
                Box::new(|c| {
                    generic
                        .gemm(&p1, am, bm, MatMut::row_major(c, m, n).unwrap())
                        .unwrap()
                }),
            ),
            (
                "g2",
                Box::new(|c| {
                    generic
                        .gemm(&p2, am, bm, MatMut::row_major(c, m, n).unwrap())
                        .unwrap()
                }),
            ),
        ];
        let mut secs = vec![Vec::new(); runs.len()];
        for _ in 0..rounds {
            for (i, (name, f)) in runs.iter_mut().enumerate() {
                let single = !name.ends_with('2');
                secs[i].push(time(single, &mut || f(black_box(&mut c))));
            }
        }
        // The naive reference is far slower: one timing is enough.
        let t = Instant::now();
        reference::gemm(&p1, am, bm, MatMut::row_major(&mut c, m, n).unwrap()).unwrap();
        let naive = flops / t.elapsed().as_secs_f64() / 1e9;
        let cells: Vec<String> = secs
            .into_iter()
            .map(|s| format!("{:.1}", flops / median(s) / 1e9))
            .collect();
        println!("| {name} | {} | {naive:.2} |", cells.join(" | "));
    }
    println!();
    println!("GFLOP/s (2 flops per multiply-add), median of {rounds} rounds.");
}
