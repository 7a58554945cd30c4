//! AVX-512 sparse x dense product: the AVX2 kernel's scheme with 16-lane vectors, up to 8 of
//! them (128 columns) per pass over a row's nonzeros, and the last partial vector masked
//! instead of a scalar column loop (a 7x7 image has 49 columns: 3 vectors and one lane).
//! Narrow products (under 32 columns: Gemm batches) stay on the AVX2 kernel, whose
//! four accumulator sets hide the FMA latency that one or two chains would wait on.

use std::arch::x86_64::*;

use super::CsrMatrix;

/// `y = w * x + bias` (no activation), `x` `K x n`, `y` `M x n`.
///
/// Safety: the CPU has AVX-512F, AVX2 and FMA; `x.len() == K * n`, `y.len() == M * n`, and a
/// bias has `M` values.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn matmul(
    w: &CsrMatrix,
    x: &[f32],
    n: usize,
    y: &mut [f32],
    bias: Option<&[f32]>,
) {
    if n < 32 {
        // SAFETY: forwarded; the CPU has AVX2 and FMA.
        return unsafe { super::x86_64_fma::matmul(w, x, n, y, bias) };
    }
    let mut j0 = 0;
    // SAFETY (all calls): each block reads columns j0..j0 + 16V (the last vector masked to
    // the `tail` columns that exist) of rows < K of X and writes the same of rows < M of Y.
    while j0 + 128 <= n {
        unsafe { block::<8, 1>(w, x, n, y, bias, j0, 16) };
        j0 += 128;
    }
    let rest = n - j0;
    if rest > 0 {
        let vecs = rest.div_ceil(16);
        let tail = rest - 16 * (vecs - 1);
        unsafe {
            match vecs {
                8 => block::<8, 1>(w, x, n, y, bias, j0, tail),
                7 => block::<7, 1>(w, x, n, y, bias, j0, tail),
                6 => block::<6, 1>(w, x, n, y, bias, j0, tail),
                5 => block::<5, 1>(w, x, n, y, bias, j0, tail),
                4 => block::<4, 2>(w, x, n, y, bias, j0, tail),
                3 => block::<3, 2>(w, x, n, y, bias, j0, tail),
                2 => block::<2, 4>(w, x, n, y, bias, j0, tail),
                _ => block::<1, 4>(w, x, n, y, bias, j0, tail),
            }
        }
    }
}

/// Columns `j0..j0 + 16 * (V - 1) + tail` of every output row (`1 <= tail <= 16`), the
/// nonzeros of a row dealt round-robin to `S` accumulator sets (one FMA chain per vector
/// would wait on the FMA latency at every nonzero when `V` is small), summed at the end.
///
/// Safety: as [`matmul`], and `j0 + 16 * (V - 1) + tail <= n`.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn block<const V: usize, const S: usize>(
    w: &CsrMatrix,
    x: &[f32],
    n: usize,
    y: &mut [f32],
    bias: Option<&[f32]>,
    j0: usize,
    tail: usize,
) {
    let xp = x.as_ptr();
    let yp = y.as_mut_ptr();
    let mask: __mmask16 = if tail >= 16 {
        0xffff
    } else {
        (1u16 << tail) - 1
    };
    // SAFETY (loads): row `c < K` of X has columns up to j0 + 16(V-1) + tail <= n; the
    // last vector reads only the `tail` masked lanes.
    let fma = |acc: &mut [__m512; V], c: u32, v: f32| {
        let wv = _mm512_set1_ps(v);
        let row = unsafe { xp.add(c as usize * n + j0) };
        for (i, a) in acc.iter_mut().enumerate().take(V - 1) {
            *a = _mm512_fmadd_ps(wv, unsafe { _mm512_loadu_ps(row.add(16 * i)) }, *a);
        }
        let last = unsafe { _mm512_maskz_loadu_ps(mask, row.add(16 * (V - 1))) };
        acc[V - 1] = _mm512_fmadd_ps(wv, last, acc[V - 1]);
    };
    for r in 0..w.rows() {
        let mut acc = [[_mm512_setzero_ps(); V]; S];
        acc[0] = [_mm512_set1_ps(bias.map_or(0.0, |b| b[r])); V];
        let (cols, vals) = w.row(r);
        let mut cc = cols.chunks_exact(S);
        let mut vc = vals.chunks_exact(S);
        for (c, v) in (&mut cc).zip(&mut vc) {
            for (set, (c, v)) in acc.iter_mut().zip(c.iter().zip(v)) {
                fma(set, *c, *v);
            }
        }
        for (c, v) in cc.remainder().iter().zip(vc.remainder()) {
            fma(&mut acc[0], *c, *v);
        }
        let (sum, others) = acc.split_at_mut(1);
        for set in others.iter() {
            for (a, b) in sum[0].iter_mut().zip(set) {
                *a = _mm512_add_ps(*a, *b);
            }
        }
        // SAFETY: row `r < M` of Y has the same columns.
        let out = unsafe { yp.add(r * n + j0) };
        for (i, a) in acc[0].iter().enumerate().take(V - 1) {
            unsafe { _mm512_storeu_ps(out.add(16 * i), *a) };
        }
        unsafe { _mm512_mask_storeu_ps(out.add(16 * (V - 1)), mask, acc[0][V - 1]) };
    }
}
