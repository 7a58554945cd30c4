//! AVX2 + FMA GEMV kernels (see [`crate::arch::GemvKernel`] for the two layouts).
//! GEMV is bound by reading B once, so both kernels keep 8 independent accumulators to hide
//! the FMA latency and let the loads run ahead.

use std::arch::x86_64::*;

/// `y[j] = sum_p x[p] * b[p * ldb + j]`, 16 columns at a time with four k-phases.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn rows(
    k: usize,
    n: usize,
    x: *const f32,
    b: *const f32,
    ldb: usize,
    y: *mut f32,
) {
    let mut j = 0;
    while j + 16 <= n {
        let mut acc = [_mm256_setzero_ps(); 8];
        let mut p = 0;
        while p + 4 <= k {
            for q in 0..4 {
                // SAFETY: p + q < k, and row p + q of B has columns j..j + 16 < n.
                unsafe {
                    let xv = _mm256_broadcast_ss(&*x.add(p + q));
                    let row = b.add((p + q) * ldb + j);
                    acc[2 * q] = _mm256_fmadd_ps(xv, _mm256_loadu_ps(row), acc[2 * q]);
                    acc[2 * q + 1] =
                        _mm256_fmadd_ps(xv, _mm256_loadu_ps(row.add(8)), acc[2 * q + 1]);
                }
            }
            p += 4;
        }
        while p < k {
            // SAFETY: as above, one row at a time.
            unsafe {
                let xv = _mm256_broadcast_ss(&*x.add(p));
                let row = b.add(p * ldb + j);
                acc[0] = _mm256_fmadd_ps(xv, _mm256_loadu_ps(row), acc[0]);
                acc[1] = _mm256_fmadd_ps(xv, _mm256_loadu_ps(row.add(8)), acc[1]);
            }
            p += 1;
        }
        let lo = _mm256_add_ps(_mm256_add_ps(acc[0], acc[2]), _mm256_add_ps(acc[4], acc[6]));
        let hi = _mm256_add_ps(_mm256_add_ps(acc[1], acc[3]), _mm256_add_ps(acc[5], acc[7]));
        // SAFETY: j + 16 <= n outputs.
        unsafe {
            _mm256_storeu_ps(y.add(j), lo);
            _mm256_storeu_ps(y.add(j + 8), hi);
        }
        j += 16;
    }
    // Fewer than 16 columns left: plain loops (a small share of the work).
    for jj in j..n {
        let mut s = 0.0f32;
        for p in 0..k {
            // SAFETY: p < k and jj < n.
            unsafe { s += *x.add(p) * *b.add(p * ldb + jj) };
        }
        // SAFETY: jj < n.
        unsafe { *y.add(jj) = s };
    }
}

/// `y[j] = sum_p x[p] * b[j * ldb + p]`, four dot products at a time.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn dots(
    k: usize,
    n: usize,
    x: *const f32,
    b: *const f32,
    ldb: usize,
    y: *mut f32,
) {
    let mut j = 0;
    while j < n {
        let cols = (n - j).min(4);
        let mut acc = [_mm256_setzero_ps(); 8];
        let mut p = 0;
        while p + 16 <= k {
            // SAFETY: p + 16 <= k floats of x and of each column j + c < n.
            unsafe {
                let (x0, x1) = (_mm256_loadu_ps(x.add(p)), _mm256_loadu_ps(x.add(p + 8)));
                for c in 0..cols {
                    let col = b.add((j + c) * ldb + p);
                    acc[2 * c] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(col), acc[2 * c]);
                    acc[2 * c + 1] =
                        _mm256_fmadd_ps(x1, _mm256_loadu_ps(col.add(8)), acc[2 * c + 1]);
                }
            }
            p += 16;
        }
        for c in 0..cols {
            let mut s = hsum(_mm256_add_ps(acc[2 * c], acc[2 * c + 1]));
            for pp in p..k {
                // SAFETY: pp < k, column j + c < n.
                unsafe { s += *x.add(pp) * *b.add((j + c) * ldb + pp) };
            }
            // SAFETY: j + c < n.
            unsafe { *y.add(j + c) = s };
        }
        j += cols;
    }
}

#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}
