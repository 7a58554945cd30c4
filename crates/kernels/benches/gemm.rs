//! GEMM throughput on conv-as-GEMM shapes: the native table and the generic one at 1 and 2
//! threads, the naive f64 reference, and this core's FMA peak for scale. Prints a markdown
//! table for BENCHMARKS.md.
//!
//! `cargo bench -p edgeopt-kernels --bench gemm [-- ROUNDS]`
//!
//! Implementations are timed round-robin (one timing of each per round, median over rounds),
//! so a load change on a shared machine hits all of them alike: compare within a row.

mod support;

use std::hint::black_box;
use std::time::Instant;

use support::{fma_peak, median, time};

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

/// A named implementation writing C.
type Run<'a> = (&'static str, Box<dyn FnMut(&mut [f32]) + 'a>);

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
