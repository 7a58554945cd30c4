//! AVX2+FMA sparse x dense pass: for each nonzero `w[r, k]`, broadcast `w` and FMA it into
//! `V` vectors of 8 accumulators (in `sets(V)` independent chains) holding the pass's columns
//! of output row `r`, loading row `k` of X; and the batch-1 Gemm dots.

use std::arch::x86_64::*;

use super::spmm::{sets, Pass, PassKernel};
use super::CsrMatrix;

pub(super) struct Avx2;

impl PassKernel for Avx2 {
    const LANES: usize = 8;
    const MAX_VECS: usize = 8;
    const MASKED_LOADS: bool = false;

    #[target_feature(enable = "avx2,fma")]
    unsafe fn run(p: &Pass) {
        // SAFETY: forwarded.
        unsafe {
            match p.width.div_ceil(8) {
                8 => pass::<8, { sets(8) }>(p),
                7 => pass::<7, { sets(7) }>(p),
                6 => pass::<6, { sets(6) }>(p),
                5 => pass::<5, { sets(5) }>(p),
                4 => pass::<4, { sets(4) }>(p),
                3 => pass::<3, { sets(3) }>(p),
                2 => pass::<2, { sets(2) }>(p),
                _ => pass::<1, { sets(1) }>(p),
            }
        }
    }
}

/// Lane mask of the last vector of `width` columns (all lanes when it is full).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn tail_mask(width: usize, vecs: usize) -> __m256i {
    let tail = (width - 8 * (vecs - 1)) as i32;
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(tail),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}

/// Safety: as [`PassKernel::run`], AVX2 and FMA present, `p.width <= 8 * V`.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn pass<const V: usize, const S: usize>(p: &Pass) {
    let (cols, vals) = (p.w.col_idx(), p.w.values());
    let mask = tail_mask(p.width, V);
    let (lo_hi, clamp) = match p.clamp {
        Some((lo, hi)) => ((_mm256_set1_ps(lo), _mm256_set1_ps(hi)), true),
        None => ((_mm256_setzero_ps(), _mm256_setzero_ps()), false),
    };
    // SAFETY (loads): row `c` of X has 8V readable columns from `src + c * pitch`.
    let fma = |acc: &mut [__m256; V], c: u32, v: f32| {
        let wv = _mm256_set1_ps(v);
        let row = unsafe { p.src.add(c as usize * p.pitch) };
        for (i, a) in acc.iter_mut().enumerate() {
            *a = _mm256_fmadd_ps(wv, unsafe { _mm256_loadu_ps(row.add(8 * i)) }, *a);
        }
    };
    for r in 0..p.w.rows() {
        // SAFETY: row r of Y has `width` writable columns; the last vector is masked.
        let out = unsafe { p.dst.add(r * p.ldy) };
        let mut acc = [[_mm256_setzero_ps(); V]; S];
        if p.first {
            acc[0] = [_mm256_set1_ps(p.bias.map_or(0.0, |b| b[r])); V];
        } else {
            for (i, a) in acc[0].iter_mut().enumerate().take(V - 1) {
                *a = unsafe { _mm256_loadu_ps(out.add(8 * i)) };
            }
            acc[0][V - 1] = unsafe { _mm256_maskload_ps(out.add(8 * (V - 1)), mask) };
        }
        let (lo, hi) = p.w.block_range(r, p.blocks.0, p.blocks.1);
        let mut cc = cols[lo..hi].chunks_exact(S);
        let mut vc = vals[lo..hi].chunks_exact(S);
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
                *a = _mm256_add_ps(*a, *b);
            }
        }
        if clamp {
            for a in sum[0].iter_mut() {
                *a = _mm256_min_ps(_mm256_max_ps(*a, lo_hi.0), lo_hi.1);
            }
        }
        for (i, a) in sum[0].iter().enumerate().take(V - 1) {
            unsafe { _mm256_storeu_ps(out.add(8 * i), *a) };
        }
        unsafe { _mm256_maskstore_ps(out.add(8 * (V - 1)), mask, sum[0][V - 1]) };
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
