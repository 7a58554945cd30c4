//! AVX2 + FMA GEMV kernels (see [`crate::arch::GemvKernel`] for the two layouts).
//! GEMV is bound by reading B once: the kernels read it in long sequential runs and keep
//! enough independent accumulators to hide the FMA latency.

use std::arch::x86_64::*;

/// `y[j] = sum_p x[p] * b[p * ldb + j]`.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn rows(
    k: usize,
    n: usize,
    x: *const f32,
    b: *const f32,
    ldb: usize,
    y: *mut f32,
) {
    // SAFETY: same contract.
    unsafe {
        if n >= 64 {
            rows_streaming::<4>(k, n, x, b, ldb, y)
        } else {
            rows_narrow(k, n, x, b, ldb, y)
        }
    }
}

/// Wide B: sweeps whole rows, `R` at a time, adding them into y (which stays in L1). Each row
/// is read front to back, which the prefetchers follow; the column-chunked `rows_narrow` jumps
/// to a new row every 64 bytes instead, and ran at 0.6x the speed on a 1024 x 1000 B (R = 8
/// was no faster than 4).
#[target_feature(enable = "avx2,fma")]
unsafe fn rows_streaming<const R: usize>(
    k: usize,
    n: usize,
    x: *const f32,
    b: *const f32,
    ldb: usize,
    y: *mut f32,
) {
    // SAFETY: y has n floats.
    let y = unsafe { std::slice::from_raw_parts_mut(y, n) };
    y.fill(0.0);
    let n8 = n / 8 * 8;
    let mut p = 0;
    while p < k {
        let count = (k - p).min(R);
        // Missing rows of a short group repeat row p with a zero weight (still readable).
        let mut xv = [_mm256_setzero_ps(); R];
        let mut row = [b; R];
        for q in 0..R {
            let src = p + if q < count { q } else { 0 };
            // SAFETY: src < k, so x[src] and row src of B are readable.
            unsafe {
                row[q] = b.add(src * ldb);
                if q < count {
                    xv[q] = _mm256_broadcast_ss(&*x.add(src));
                }
            }
        }
        for j in (0..n8).step_by(8) {
            // SAFETY: j + 8 <= n, inside y and inside each row.
            unsafe {
                let mut acc = _mm256_loadu_ps(y.as_ptr().add(j));
                for q in 0..R {
                    acc = _mm256_fmadd_ps(xv[q], _mm256_loadu_ps(row[q].add(j)), acc);
                }
                _mm256_storeu_ps(y.as_mut_ptr().add(j), acc);
            }
        }
        for (j, yj) in y.iter_mut().enumerate().skip(n8) {
            for (q, r) in row.iter().enumerate().take(count) {
                // SAFETY: j < n, p + q < k.
                unsafe { *yj += *x.add(p + q) * *r.add(j) };
            }
        }
        p += count;
    }
}

/// Narrow B (a packed panel, or a few columns): 16 columns at a time with four k-phases, so
/// eight independent accumulators hide the FMA latency.
#[target_feature(enable = "avx2,fma")]
unsafe fn rows_narrow(k: usize, n: usize, x: *const f32, b: *const f32, ldb: usize, y: *mut f32) {
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
