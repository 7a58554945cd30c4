//! `y = x * W^T (+ bias)` for one row `x`, with W stored `[N, K]` row-major: a dot product
//! per output, allocation-free (the kernels crate's GEMV path allocates per call). The FMA
//! version is picked once per process by CPU detection.

/// Lanes of independent partial sums (vectorizable without reassociating a single sum).
const LANES: usize = 16;

#[inline(always)]
fn dot_body(x: &[f32], w: &[f32], fma: bool) -> f32 {
    let mut acc = [0f32; LANES];
    let (xc, wc) = (x.chunks_exact(LANES), w.chunks_exact(LANES));
    let (xr, wr) = (xc.remainder(), wc.remainder());
    for (xs, ws) in xc.zip(wc) {
        for j in 0..LANES {
            acc[j] = if fma {
                xs[j].mul_add(ws[j], acc[j])
            } else {
                acc[j] + xs[j] * ws[j]
            };
        }
    }
    let mut tail = 0f32;
    for (a, b) in xr.iter().zip(wr) {
        tail += a * b;
    }
    // Pairwise sum of the lanes: a fixed order, so results do not depend on anything else.
    let mut w = LANES;
    while w > 1 {
        w /= 2;
        for j in 0..w {
            acc[j] += acc[j + w];
        }
    }
    acc[0] + tail
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn rows_fma(x: &[f32], w: &[f32], k: usize, y: &mut [f32]) {
    for (n, y) in y.iter_mut().enumerate() {
        *y = dot_body(x, &w[n * k..(n + 1) * k], true);
    }
}

fn rows_generic(x: &[f32], w: &[f32], k: usize, y: &mut [f32]) {
    for (n, y) in y.iter_mut().enumerate() {
        *y = dot_body(x, &w[n * k..(n + 1) * k], false);
    }
}

pub(crate) fn has_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static FMA: OnceLock<bool> = OnceLock::new();
        *FMA.get_or_init(|| {
            std::env::var("EDGEOPT_KERNELS")
                .map(|v| v.trim() != "generic")
                .unwrap_or(true)
                && is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// `y[n] = dot(x, w[n*k..(n+1)*k])` for every `n < y.len()`; `w.len() >= y.len() * k`.
pub fn gemv_rows(x: &[f32], w: &[f32], k: usize, y: &mut [f32]) {
    let x = &x[..k];
    #[cfg(target_arch = "x86_64")]
    if has_fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked above).
        return unsafe { rows_fma(x, w, k, y) };
    }
    let _ = has_fma;
    rows_generic(x, w, k, y)
}
