//! GEMM throughput on conv-as-GEMM shapes: the native table and the generic one at 1 and 2
//! threads, the naive f64 reference, and this core's FMA peak for scale. Prints a markdown
//! table for BENCHMARKS.md.
//!
//! `cargo bench -p edgeopt-kernels --bench gemm [-- ROUNDS] [--tiles]` (`--tiles`: the AVX2
//! table against the AVX-512 register tiles of `Kernels::tile_variants`, single-threaded).
//!
//! Implementations are timed round-robin (one timing of each per round, median over rounds),
//! so a load change on a shared machine hits all of them alike: compare within a row.

mod support;

use std::hint::black_box;
use std::time::Instant;

use support::{avx512_peak, fma_peak, median, time};

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
type Run<'a> = (String, Box<dyn FnMut(&mut [f32]) + 'a>);

/// `table.gemm` on `(m, n)`, single-threaded or on 2 threads.
fn plain<'a>(table: &'a Kernels, threads: usize, a: MatRef<'a>, b: MatRef<'a>) -> Run<'a> {
    let (m, n) = (a.rows(), b.cols());
    let p = GemmParams {
        threads,
        ..GemmParams::default()
    };
    (
        format!("{} {threads}t", table.name()),
        Box::new(move |c| {
            table
                .gemm(&p, a, b, MatMut::row_major(c, m, n).unwrap())
                .unwrap()
        }),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(7);
    let tiles = args.iter().any(|a| a == "--tiles");
    let peak = fma_peak();
    let peak512 = avx512_peak();
    let native = Kernels::native();
    let generic = Kernels::generic();
    let gflops = |p: Option<f64>| p.map_or("n/a".into(), |p| format!("{p:.1} GFLOP/s"));
    println!(
        "native table: {} (tile {:?}), rounds: {rounds}, FMA peak: AVX2 {}, AVX-512 {}",
        native.name(),
        native.tile(),
        gflops(peak),
        gflops(peak512),
    );
    println!();
    // `--tiles`: the AVX2 table against AVX-512 register tiles, single-threaded.
    let variants = Kernels::tile_variants();
    let others: Vec<&Kernels> = Kernels::available()
        .into_iter()
        .filter(|t| t.name() != generic.name() && t.name() != native.name())
        .collect();
    let header: Vec<String> = if tiles {
        others
            .iter()
            .copied()
            .chain(variants.iter())
            .map(|t| format!("{} {:?}", t.name(), t.tile()))
            .collect()
    } else {
        let mut h = vec![
            format!("{} 1t", native.name()),
            format!("{} 2t", native.name()),
            format!("{} 1t prepacked", native.name()),
        ];
        h.extend(others.iter().map(|t| format!("{} 1t", t.name())));
        h.extend(["generic 1t".into(), "generic 2t".into(), "naive f64".into()]);
        h
    };
    println!("| shape | {} |", header.join(" | "));
    println!("|---|{}", "---:|".repeat(header.len()));
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
        let mut runs: Vec<Run> = Vec::new();
        if tiles {
            for t in others.iter().copied().chain(variants.iter()) {
                runs.push(plain(t, 1, am, bm));
            }
        } else {
            runs.push(plain(native, 1, am, bm));
            runs.push(plain(native, 2, am, bm));
            runs.push((
                "prepacked".into(),
                Box::new(|c| {
                    native
                        .gemm_prepacked(&p1, am, &packed, MatMut::row_major(c, m, n).unwrap())
                        .unwrap()
                }),
            ));
            for t in &others {
                runs.push(plain(t, 1, am, bm));
            }
            runs.push(plain(generic, 1, am, bm));
            runs.push(plain(generic, 2, am, bm));
        }
        let mut secs = vec![Vec::new(); runs.len()];
        for _ in 0..rounds {
            for (i, (name, f)) in runs.iter_mut().enumerate() {
                let single = !name.ends_with("2t");
                secs[i].push(time(single, &mut || f(black_box(&mut c))));
            }
        }
        let mut cells: Vec<String> = secs
            .into_iter()
            .map(|s| format!("{:.1}", flops / median(s) / 1e9))
            .collect();
        if !tiles {
            // The naive reference is far slower: one timing is enough.
            let t = Instant::now();
            reference::gemm(&p1, am, bm, MatMut::row_major(&mut c, m, n).unwrap()).unwrap();
            cells.push(format!("{:.2}", flops / t.elapsed().as_secs_f64() / 1e9));
        }
        println!("| {name} | {} |", cells.join(" | "));
    }
    println!();
    println!("GFLOP/s (2 flops per multiply-add), median of {rounds} rounds.");
}
