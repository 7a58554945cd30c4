//! Sparse-weight products (CSR, `edgeopt_kernels::sparse`) against the dense packed GEMM on the
//! same shapes, single thread, at 50-95% unstructured sparsity. Prints a markdown table of
//! microseconds per call and the speedup over dense; the crossover tells the runtime when a
//! pruned layer should switch to the sparse kernel. Dense weights are packed once, as the
//! runtime does (Gemm: `PackedB`; 1x1 convolutions: `PackedConv`).
//!
//! `cargo bench -p edgeopt-kernels --bench sparse [-- ROUNDS] [FILTER]` (FILTER: a substring of
//! the shape names, e.g. `@7` or `batch`)

use std::hint::black_box;
use std::time::Instant;

use edgeopt_kernels::conv::{Conv2dShape, ConvAlgo, PackedConv};
use edgeopt_kernels::sparse::{CsrMatrix, SparseImpl};
use edgeopt_kernels::{Activation, Bias, GemmParams, Kernels, MatMut, MatRef, PackedB};

/// (name, M outputs, K inputs, N columns, Gemm layout): 1x1 convolutions are
/// `W[Cout x Cin] * X[Cin x HW]`; Gemm layers are `X[batch x K] * W^T` with W stored `[M, K]`.
const SHAPES: [(&str, usize, usize, usize, bool); 6] = [
    ("1x1 64->128 @56", 128, 64, 3136, false),
    ("1x1 256->256 @14", 256, 256, 196, false),
    ("1x1 960->160 @7", 160, 960, 49, false),
    ("1x1 32->16 @112", 16, 32, 12544, false),
    ("gemm 1024->1000 batch 1", 1000, 1024, 1, true),
    ("gemm 512->512 batch 8", 512, 512, 8, true),
];

const SPARSITIES: [f64; 5] = [0.5, 0.7, 0.8, 0.9, 0.95];

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

/// Zeroes the smallest-magnitude `sparsity` fraction of `w` (unstructured magnitude pruning).
fn prune(w: &[f32], sparsity: f64) -> Vec<f32> {
    let mut mags: Vec<f32> = w.iter().map(|v| v.abs()).collect();
    mags.sort_by(f32::total_cmp);
    let cut = ((w.len() as f64 * sparsity) as usize).min(w.len().saturating_sub(1));
    let threshold = mags[cut];
    w.iter()
        .map(|&v| if v.abs() < threshold { 0.0 } else { v })
        .collect()
}

/// CPU time of the calling thread (not counting other processes' slices on a shared machine).
fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write to.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Seconds per call of `f`, repeated for ~20 ms, median of `rounds`.
fn time(rounds: usize, f: &mut dyn FnMut()) -> f64 {
    let t = Instant::now();
    f();
    let once = t.elapsed().as_secs_f64().max(1e-6);
    let reps = ((0.02 / once).ceil() as usize).clamp(1, 10_000);
    let mut all: Vec<f64> = (0..rounds)
        .map(|_| {
            let t0 = thread_cpu();
            for _ in 0..reps {
                f();
            }
            (thread_cpu() - t0) / reps as f64
        })
        .collect();
    all.sort_by(f64::total_cmp);
    all[all.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    let filter: Option<String> = std::env::args()
        .skip(1)
        .find(|a| a.parse::<usize>().is_err() && !a.starts_with('-'));
    let dense_k = Kernels::native();
    let imp = SparseImpl::native();
    println!(
        "dense: {} gemm 1 thread; sparse: {imp:?} CSR; us per call (speedup)",
        dense_k.name()
    );
    println!();
    let head: Vec<String> = SPARSITIES
        .iter()
        .map(|s| format!("{:.0}%", s * 100.0))
        .collect();
    println!("| shape | dense | {} |", head.join(" | "));
    println!("|---|---:|{}", "---:|".repeat(SPARSITIES.len()));
    for (name, m, k, n, gemm_layout) in SHAPES {
        if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        let w = random(m * k, 1);
        // 64-byte aligned, as the runtime's arena places every tensor.
        let mut x_buf = random(k * n + 16, 2);
        let skew = x_buf.as_ptr().align_offset(64);
        let x = &mut x_buf[skew..][..k * n];
        let bias = random(m, 3);
        let mut y = vec![0f32; m * n];
        let dense_t = if gemm_layout {
            let params = GemmParams {
                bias: Bias::PerCol(&bias),
                activation: Activation::Relu,
                ..GemmParams::default()
            };
            let xm = MatRef::row_major(x, n, k).unwrap();
            // The runtime packs constant Gemm weights once, at load time.
            let wt =
                PackedB::with_kernels(dense_k, MatRef::row_major(&w, m, k).unwrap().t()).unwrap();
            time(rounds, &mut || {
                dense_k
                    .gemm_prepacked(&params, xm, &wt, MatMut::row_major(&mut y, n, m).unwrap())
                    .unwrap();
                black_box(&y);
            })
        } else {
            // The runtime packs constant 1x1 weights once too (`PackedConv`, pointwise).
            let shape = Conv2dShape::simple(1, k, 1, n, m, 1);
            let conv = PackedConv::with_kernels(
                dense_k,
                &shape,
                &w,
                Some(&bias),
                Activation::Relu,
                ConvAlgo::Auto,
            )
            .unwrap();
            let mut scratch = vec![0f32; conv.scratch_len()];
            time(rounds, &mut || {
                conv.run(x, &mut y, &mut scratch, 1).unwrap();
                black_box(&y);
            })
        };
        let mut cells = Vec::new();
        for s in SPARSITIES {
            let csr = CsrMatrix::from_dense(&prune(&w, s), m, k).unwrap();
            let mut scratch = vec![0f32; csr.matmul_scratch_len(n)];
            let t = time(rounds, &mut || {
                if gemm_layout {
                    csr.matmul_t(x, n, &mut y, Some(&bias), Activation::Relu)
                } else {
                    csr.matmul_with(
                        imp,
                        x,
                        n,
                        &mut y,
                        Some(&bias),
                        Activation::Relu,
                        &mut scratch,
                    )
                }
                .unwrap();
                black_box(&y);
            });
            cells.push(format!("{:.1} ({:.2}x)", t * 1e6, dense_t / t));
        }
        println!("| {name} | {:.1} | {} |", dense_t * 1e6, cells.join(" | "));
    }
}
