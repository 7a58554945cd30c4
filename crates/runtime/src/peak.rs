//! The single-core fp32 FMA peak, measured with a micro-benchmark: independent FMA chains
//! (enough to cover the FMA latency on every port), AVX2+FMA when the CPU has it, a portable
//! scalar-lane loop otherwise. Profiles report each layer's GFLOP/s as a fraction of it.

use std::time::Instant;

/// Iterations of the inner loop per timed batch.
const ITERS: usize = 1 << 20;

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_loop_avx2(iters: usize) -> f32 {
    use std::arch::x86_64::*;
    let m = _mm256_set1_ps(0.999_999);
    let a = _mm256_set1_ps(1e-7);
    let mut acc = [_mm256_set1_ps(1.0); 10];
    for _ in 0..iters {
        for r in acc.iter_mut() {
            *r = _mm256_fmadd_ps(*r, m, a);
        }
    }
    let mut s = _mm256_setzero_ps();
    for r in acc {
        s = _mm256_add_ps(s, r);
    }
    let mut out = [0f32; 8];
    _mm256_storeu_ps(out.as_mut_ptr(), s);
    out.iter().sum()
}

/// Flops of one iteration of the AVX2 loop: 10 chains x 8 lanes x 2.
#[cfg(target_arch = "x86_64")]
const AVX2_FLOPS: usize = 10 * 8 * 2;

fn fma_loop_portable(iters: usize) -> f32 {
    let mut acc = [1.0f32; 32];
    for _ in 0..iters {
        for r in acc.iter_mut() {
            *r = *r * 0.999_999 + 1e-7;
        }
    }
    acc.iter().sum()
}

/// The measured single-thread peak in GFLOP/s (best of a few ~10 ms batches).
pub fn fma_peak_gflops() -> f64 {
    let mut best = 0f64;
    for _ in 0..5 {
        let t0 = Instant::now();
        #[cfg(target_arch = "x86_64")]
        let (sink, flops) = if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA.
            (unsafe { fma_loop_avx2(ITERS) }, ITERS * AVX2_FLOPS)
        } else {
            (fma_loop_portable(ITERS), ITERS * 64)
        };
        #[cfg(not(target_arch = "x86_64"))]
        let (sink, flops) = (fma_loop_portable(ITERS), ITERS * 64);
        let dt = t0.elapsed().as_secs_f64();
        std::hint::black_box(sink);
        if dt > 0.0 {
            best = best.max(flops as f64 / dt / 1e9);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    #[test]
    fn peak_is_positive_and_finite() {
        let p = super::fma_peak_gflops();
        assert!(p.is_finite() && p > 0.0, "{p}");
    }
}
