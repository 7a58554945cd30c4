//! AVX2+FMA sparse x dense product: for each nonzero `w[r, k]`, broadcast `w` and FMA it into
//! `8 * V` accumulators holding columns `j0..j0 + 8V` of output row `r`, loading row `k` of X.

use std::arch::x86_64::*;

use super::CsrMatrix;

/// `y = w * x + bias` (no activation), `x` `K x n`, `y` `M x n`.
///
/// Safety: the CPU has AVX2 and FMA; `x.len() == K * n`, `y.len() == M * n`, and a bias has
/// `M` values.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn matmul(
    w: &CsrMatrix,
    x: &[f32],
    n: usize,
    y: &mut [f32],
    bias: Option<&[f32]>,
) {
    let mut j0 = 0;
    // SAFETY (all calls): each block reads columns j0..j0 + 8V < n of rows < K of X and writes
    // the same columns of rows < M of Y, within the extents the caller guarantees.
    while j0 + 64 <= n {
        unsafe { block::<8>(w, x, n, y, bias, j0) };
        j0 += 64;
    }
    // The remaining 8-column vectors in one pass over the nonzeros.
    let vecs = (n - j0) / 8;
    unsafe {
        match vecs {
            7 => block::<7>(w, x, n, y, bias, j0),
            6 => block::<6>(w, x, n, y, bias, j0),
            5 => block::<5>(w, x, n, y, bias, j0),
            4 => block::<4>(w, x, n, y, bias, j0),
            3 => block::<3>(w, x, n, y, bias, j0),
            2 => narrow::<2>(w, x, n, y, bias, j0),
            1 => narrow::<1>(w, x, n, y, bias, j0),
            _ => {}
        }
    }
    j0 += 8 * vecs;
    if j0 < n {
        for r in 0..w.rows() {
            let b = bias.map_or(0.0, |b| b[r]);
            let (cols, vals) = w.row(r);
            for j in j0..n {
                let mut s = b;
                for (c, v) in cols.iter().zip(vals) {
                    s = v.mul_add(x[*c as usize * n + j], s);
                }
                y[r * n + j] = s;
            }
        }
    }
}

/// Columns `j0..j0 + 8 * V` of every output row.
///
/// Safety: as [`matmul`], and `j0 + 8 * V <= n`.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn block<const V: usize>(
    w: &CsrMatrix,
    x: &[f32],
    n: usize,
    y: &mut [f32],
    bias: Option<&[f32]>,
    j0: usize,
) {
    let xp = x.as_ptr();
    let yp = y.as_mut_ptr();
    for r in 0..w.rows() {
        let mut acc = [_mm256_set1_ps(bias.map_or(0.0, |b| b[r])); V];
        let (cols, vals) = w.row(r);
        for (c, v) in cols.iter().zip(vals) {
            let wv = _mm256_set1_ps(*v);
            // SAFETY: row `c < K` of X has columns up to j0 + 8V <= n.
            let row = unsafe { xp.add(*c as usize * n + j0) };
            for (i, a) in acc.iter_mut().enumerate() {
                *a = _mm256_fmadd_ps(wv, unsafe { _mm256_loadu_ps(row.add(8 * i)) }, *a);
            }
        }
        // SAFETY: row `r < M` of Y has columns up to j0 + 8V <= n.
        let out = unsafe { yp.add(r * n + j0) };
        for (i, a) in acc.iter().enumerate() {
            unsafe { _mm256_storeu_ps(out.add(8 * i), *a) };
        }
    }
}

/// [`block`] for one or two vectors of columns (Gemm batches, narrow images): a single
/// accumulator chain would wait on the FMA latency at every nonzero, so four nonzeros at a time
/// go to four independent accumulator sets, summed at the end.
///
/// Safety: as [`block`].
#[target_feature(enable = "avx2,fma")]
#[inline]
#[allow(clippy::needless_range_loop)]
unsafe fn narrow<const V: usize>(
    w: &CsrMatrix,
    x: &[f32],
    n: usize,
    y: &mut [f32],
    bias: Option<&[f32]>,
    j0: usize,
) {
    let xp = x.as_ptr();
    let yp = y.as_mut_ptr();
    for r in 0..w.rows() {
        let zero = _mm256_setzero_ps();
        let mut acc = [[zero; V]; 4];
        acc[0] = [_mm256_set1_ps(bias.map_or(0.0, |b| b[r])); V];
        let (cols, vals) = w.row(r);
        let mut cc = cols.chunks_exact(4);
        let mut vc = vals.chunks_exact(4);
        for (c4, v4) in (&mut cc).zip(&mut vc) {
            for u in 0..4 {
                let wv = _mm256_set1_ps(v4[u]);
                // SAFETY: row `c < K` of X has columns up to j0 + 8V <= n.
                let row = unsafe { xp.add(c4[u] as usize * n + j0) };
                for i in 0..V {
                    acc[u][i] =
                        _mm256_fmadd_ps(wv, unsafe { _mm256_loadu_ps(row.add(8 * i)) }, acc[u][i]);
                }
            }
        }
        for (c, v) in cc.remainder().iter().zip(vc.remainder()) {
            let wv = _mm256_set1_ps(*v);
            // SAFETY: as above.
            let row = unsafe { xp.add(*c as usize * n + j0) };
            for i in 0..V {
                acc[0][i] =
                    _mm256_fmadd_ps(wv, unsafe { _mm256_loadu_ps(row.add(8 * i)) }, acc[0][i]);
            }
        }
        // SAFETY: row `r < M` of Y has columns up to j0 + 8V <= n.
        let out = unsafe { yp.add(r * n + j0) };
        for i in 0..V {
            let s = _mm256_add_ps(
                _mm256_add_ps(acc[0][i], acc[1][i]),
                _mm256_add_ps(acc[2][i], acc[3][i]),
            );
            unsafe { _mm256_storeu_ps(out.add(8 * i), s) };
        }
    }
}

/// `y[r] = bias[r] + sum_j w[r, j] * x[j]` for every row, scalar FMAs into eight independent
/// sums (the generic `dots` with fused multiply-adds: one instruction less per nonzero).
///
/// Safety: the CPU has AVX2 and FMA; `x.len() == K`, `y.len() == M`, a bias has `M` values.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn dots(w: &CsrMatrix, x: &[f32], y: &mut [f32], bias: Option<&[f32]>) {
    for (r, out) in y.iter_mut().enumerate() {
        let (cols, vals) = w.row(r);
        let mut acc = [0f32; 8];
        let mut cc = cols.chunks_exact(8);
        let mut vc = vals.chunks_exact(8);
        for (c, v) in (&mut cc).zip(&mut vc) {
            for l in 0..8 {
                // SAFETY: column indices are < K (from_dense) and x.len() == K.
                acc[l] = v[l].mul_add(unsafe { *x.get_unchecked(c[l] as usize) }, acc[l]);
            }
        }
        let mut s =
            ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        for (c, v) in cc.remainder().iter().zip(vc.remainder()) {
            s = v.mul_add(x[*c as usize], s);
        }
        *out = s + bias.map_or(0.0, |b| b[r]);
    }
}
