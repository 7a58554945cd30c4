//! Times edgeopt-kernels' native GEMM against the `gemm` crate (the reference in
//! DEPENDENCIES.md) on the conv-as-GEMM shapes of `crates/kernels/benches/gemm.rs`, round-robin
//! in one process so machine load hits both alike, and prints the ratio.
//!
//! `cargo run --release --manifest-path tools/gemm-crate-bench/Cargo.toml [-- ROUNDS]`

use std::hint::black_box;
use std::time::{Duration, Instant};

use edgeopt_kernels::{Blocking, GemmParams, Kernels, MatMut, MatRef, PackedB};
use gemm::Parallelism;

const SHAPES: [(&str, usize, usize, usize); 5] = [
    ("3x3 64->64 @56 (M64 N3136 K576)", 64, 3136, 576),
    ("1x1 64->128 @56 (M128 N3136 K64)", 128, 3136, 64),
    ("3x3 256->256 @14 (M256 N196 K2304)", 256, 196, 2304),
    ("fc 1024->1000 batch 1 (M1 N1000 K1024)", 1, 1000, 1024),
    ("square 512", 512, 512, 512),
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

/// An implementation writing C.
type Run<'a> = Box<dyn FnMut(&mut [f32]) + 'a>;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The `gemm` crate on row-major f32: `dst = alpha * dst + beta * lhs * rhs` in its naming.
fn gemm_crate(threads: usize, m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    let par = if threads == 1 {
        Parallelism::None
    } else {
        Parallelism::Rayon(threads)
    };
    // SAFETY: the pointers and strides describe the row-major m x k, k x n and m x n buffers.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            par,
        )
    }
}

/// `--tune MC,KC,NC ...`: compares blockings of the native table, single-threaded.
fn tune(rounds: usize, variants: &[String]) {
    let native = Kernels::native();
    let tables: Vec<Kernels> = variants
        .iter()
        .map(|v| {
            if !v.contains(',') {
                return Kernels::select(Some(v)).clone();
            }
            let n: Vec<usize> = v.split(',').map(|x| x.parse().expect("MC,KC,NC")).collect();
            native
                .with_blocking(Blocking {
                    mc: n[0],
                    kc: n[1],
                    nc: n[2],
                })
                .expect("valid blocking")
        })
        .collect();
    println!("GFLOP/s, median (best) of {rounds} rounds");
    println!("| shape | {} |", variants.join(" | "));
    println!("|---|{}", "---:|".repeat(variants.len()));
    for (name, m, n, k) in SHAPES {
        let (a, b) = (random(m * k, 1), random(k * n, 2));
        let mut c = vec![0f32; m * n];
        let am = MatRef::row_major(&a, m, k).unwrap();
        let bm = MatRef::row_major(&b, k, n).unwrap();
        let p1 = GemmParams::default();
        let mut secs = vec![Vec::new(); tables.len()];
        for _ in 0..rounds {
            for (i, t) in tables.iter().enumerate() {
                secs[i].push(time(true, &mut || {
                    t.gemm(
                        &p1,
                        am,
                        bm,
                        MatMut::row_major(black_box(&mut c), m, n).unwrap(),
                    )
                    .unwrap()
                }));
            }
        }
        let f = 2.0 * (m * n * k) as f64 / 1e9;
        let g: Vec<String> = secs
            .into_iter()
            .map(|s| {
                let best = s.iter().copied().fold(f64::INFINITY, f64::min);
                format!("{:.1} ({:.1})", f / median(s), f / best)
            })
            .collect();
        println!("| {name} | {} |", g.join(" | "));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--tune") {
        return tune(15, &args[1..]);
    }
    let rounds: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(9);
    let native = Kernels::native();
    println!(
        "edgeopt table: {} (tile {:?}), rounds: {rounds}",
        native.name(),
        native.tile()
    );
    println!();
    println!("| shape | edgeopt 1t | gemm crate 1t | ratio 1t | edgeopt 1t prepacked | edgeopt 2t | gemm crate 2t | ratio 2t |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, m, n, k) in SHAPES {
        let (a, b) = (random(m * k, 1), random(k * n, 2));
        let mut c = vec![0f32; m * n];
        let am = MatRef::row_major(&a, m, k).unwrap();
        let bm = MatRef::row_major(&b, k, n).unwrap();
        let packed = PackedB::with_kernels(native, bm).unwrap();
        let (p1, p2) = (
            GemmParams::default(),
            GemmParams {
                threads: 2,
                ..GemmParams::default()
            },
        );
        let mut runs: Vec<Run> = vec![
            Box::new(|c| {
                native
                    .gemm(&p1, am, bm, MatMut::row_major(c, m, n).unwrap())
                    .unwrap()
            }),
            Box::new(|c| gemm_crate(1, m, n, k, &a, &b, c)),
            Box::new(|c| {
                native
                    .gemm_prepacked(&p1, am, &packed, MatMut::row_major(c, m, n).unwrap())
                    .unwrap()
            }),
            Box::new(|c| {
                native
                    .gemm(&p2, am, bm, MatMut::row_major(c, m, n).unwrap())
                    .unwrap()
            }),
            Box::new(|c| gemm_crate(2, m, n, k, &a, &b, c)),
        ];
        let mut secs = vec![Vec::new(); runs.len()];
        for _ in 0..rounds {
            for (i, f) in runs.iter_mut().enumerate() {
                // Runs 0-2 are single-threaded (timed in thread CPU time), 3-4 use 2 threads.
                secs[i].push(time(i < 3, &mut || f(black_box(&mut c))));
            }
        }
        let g: Vec<f64> = secs
            .into_iter()
            .map(|s| 2.0 * (m * n * k) as f64 / median(s) / 1e9)
            .collect();
        println!(
            "| {name} | {:.1} | {:.1} | {:.2} | {:.1} | {:.1} | {:.1} | {:.2} |",
            g[0],
            g[1],
            g[0] / g[1],
            g[2],
            g[3],
            g[4],
            g[3] / g[4]
        );
    }
    println!();
    println!("GFLOP/s (2 flops per multiply-add), median of {rounds} rounds; ratio = edgeopt / gemm crate.");
}
