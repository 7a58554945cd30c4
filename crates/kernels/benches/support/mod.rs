//! Timing helpers shared by the benches: per-thread CPU time, medians, the FMA peak.
#![allow(dead_code)]

use std::hint::black_box;
use std::time::{Duration, Instant};

/// CPU time of the calling thread in seconds: unlike wall time it does not count the slices
/// other processes get on a shared machine. (Linux's schedstat file is only updated at
/// scheduler ticks, too coarse for 20 ms timings.)
pub fn thread_cpu() -> Option<f64> {
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
pub fn time(single_thread: bool, f: &mut dyn FnMut()) -> f64 {
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

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Single-core FMA peak (GFLOP/s): 12 independent 8-lane FMA chains, as in fma_peak.c.
#[cfg(target_arch = "x86_64")]
pub fn fma_peak() -> Option<f64> {
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
pub fn fma_peak() -> Option<f64> {
    None
}

/// Single-core AVX-512 FMA peak (GFLOP/s): 12 independent 16-lane FMA chains; `None` without
/// AVX-512F.
#[cfg(target_arch = "x86_64")]
pub fn avx512_peak() -> Option<f64> {
    use std::arch::x86_64::*;
    #[target_feature(enable = "avx512f")]
    unsafe fn chains(iters: usize) -> f32 {
        let mut acc = [_mm512_set1_ps(1.0); 12];
        let (a, b) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
        for _ in 0..iters {
            for x in acc.iter_mut() {
                *x = _mm512_fmadd_ps(*x, a, b);
            }
        }
        let s = acc
            .iter()
            .fold(_mm512_setzero_ps(), |s, x| _mm512_add_ps(s, *x));
        _mm512_reduce_add_ps(s)
    }
    if !is_x86_feature_detected!("avx512f") {
        return None;
    }
    let iters = 1_000_000;
    let best = (0..5)
        .map(|_| {
            let secs = time(true, &mut || {
                // SAFETY: AVX-512F was detected above.
                black_box(unsafe { chains(black_box(iters)) });
            });
            2.0 * 16.0 * 12.0 * iters as f64 / secs / 1e9
        })
        .fold(0f64, f64::max);
    Some(best)
}

#[cfg(not(target_arch = "x86_64"))]
pub fn avx512_peak() -> Option<f64> {
    None
}
