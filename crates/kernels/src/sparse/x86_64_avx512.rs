//! AVX-512 sparse x dense pass: the AVX2 pass's scheme with 16-lane vectors, up to 8 of them
//! (128 columns) per pass over a row's nonzeros, the stores of the last vector masked (a 7x7
//! image has 49 columns: 3 vectors and one lane). Narrow products (under 32 columns: Gemm
//! batches) stay on the AVX2 pass, whose 8-lane vectors waste no lanes there.

use std::arch::x86_64::*;

use super::spmm::{sets, Pass, PassKernel};

pub(super) struct Avx512;

impl PassKernel for Avx512 {
    const LANES: usize = 16;
    const MAX_VECS: usize = 8;
    const MASKED_LOADS: bool = true;

    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn run(p: &Pass) {
        // SAFETY: forwarded.
        unsafe {
            match p.width.div_ceil(16) {
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

/// Safety: as [`PassKernel::run`], AVX-512F present, `p.width <= 16 * V`.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
unsafe fn pass<const V: usize, const S: usize>(p: &Pass) {
    let (cols, vals) = (p.w.col_idx(), p.w.values());
    let tail = p.width - 16 * (V - 1);
    let mask: __mmask16 = if tail >= 16 {
        0xffff
    } else {
        (1u16 << tail) - 1
    };
    let (lo, hi, clamp) = match p.clamp {
        Some((lo, hi)) => (_mm512_set1_ps(lo), _mm512_set1_ps(hi), true),
        None => (_mm512_setzero_ps(), _mm512_setzero_ps(), false),
    };
    let load_mask = if p.masked { mask } else { 0xffff };
    // SAFETY (loads): row `c` of X has 16(V-1) readable columns from `src + c * pitch`, then
    // the lanes of `load_mask`.
    let fma = |acc: &mut [__m512; V], c: u32, v: f32| {
        let wv = _mm512_set1_ps(v);
        let row = unsafe { p.src.add(c as usize * p.pitch) };
        for (i, a) in acc.iter_mut().enumerate().take(V - 1) {
            *a = _mm512_fmadd_ps(wv, unsafe { _mm512_loadu_ps(row.add(16 * i)) }, *a);
        }
        let last = unsafe { _mm512_maskz_loadu_ps(load_mask, row.add(16 * (V - 1))) };
        acc[V - 1] = _mm512_fmadd_ps(wv, last, acc[V - 1]);
    };
    for r in 0..p.w.rows() {
        // SAFETY: row r of Y has `width` writable columns; the last vector is masked.
        let out = unsafe { p.dst.add(r * p.ldy) };
        let mut acc = [[_mm512_setzero_ps(); V]; S];
        if p.first {
            acc[0] = [_mm512_set1_ps(p.bias.map_or(0.0, |b| b[r])); V];
        } else {
            for (i, a) in acc[0].iter_mut().enumerate().take(V - 1) {
                *a = unsafe { _mm512_loadu_ps(out.add(16 * i)) };
            }
            acc[0][V - 1] = unsafe { _mm512_maskz_loadu_ps(mask, out.add(16 * (V - 1))) };
        }
        let (b, e) = p.w.block_range(r, p.blocks.0, p.blocks.1);
        let mut cc = cols[b..e].chunks_exact(S);
        let mut vc = vals[b..e].chunks_exact(S);
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
        if clamp {
            for a in sum[0].iter_mut() {
                *a = _mm512_min_ps(_mm512_max_ps(*a, lo), hi);
            }
        }
        for (i, a) in sum[0].iter().enumerate().take(V - 1) {
            unsafe { _mm512_storeu_ps(out.add(16 * i), *a) };
        }
        unsafe { _mm512_mask_storeu_ps(out.add(16 * (V - 1)), mask, sum[0][V - 1]) };
    }
}
