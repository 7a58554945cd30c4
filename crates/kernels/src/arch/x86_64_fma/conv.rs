//! Convolution kernels: the depthwise plane loop of `conv` with an AVX2 + FMA inner block.

use std::arch::x86_64::*;

use crate::conv::{
    depthwise_plane, pointwise_pixels, DepthwiseBlock, DepthwisePlane, PointwiseJob, PointwiseOut,
};

/// See [`crate::conv::DepthwiseKernel`].
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn depthwise(p: &DepthwisePlane, x: &[f32], w: &[f32], out: &mut [f32]) {
    // SAFETY: forwarded contract; this function has the features `Avx2` needs.
    unsafe { depthwise_plane::<true, Avx2>(p, x, w, out) }
}

struct Avx2;

impl DepthwiseBlock for Avx2 {
    #[inline(always)]
    unsafe fn block<const K: usize, const S: usize>(
        out: &mut [f32],
        src: &[&[f32]; K],
        d: usize,
        bias: f32,
        w: &[[f32; K]; K],
    ) {
        // SAFETY: the caller guarantees AVX2 and FMA, and the extents of `src`.
        unsafe { block::<K, S>(out, src, d, bias, w) }
    }
}

/// Eight outputs from input offset `x`: `K x K` taps accumulated in `G` registers side by
/// side (independent chains hide the FMA latency).
///
/// Safety: AVX2 + FMA; every `src[i]` has `x + (8G - 1) * S + (K - 1) * d + 1` floats.
#[target_feature(enable = "avx2,fma")]
#[inline]
// Index loops over the const-sized tap arrays read as the math.
#[allow(clippy::needless_range_loop)]
unsafe fn groups<const K: usize, const S: usize, const G: usize>(
    out: *mut f32,
    src: &[&[f32]; K],
    x: usize,
    d: usize,
    bias: f32,
    w: &[[f32; K]; K],
) {
    let mut acc = [_mm256_set1_ps(bias); G];
    for i in 0..K {
        let row = src[i].as_ptr();
        for j in 0..K {
            let wv = _mm256_set1_ps(w[i][j]);
            for (g, a) in acc.iter_mut().enumerate() {
                // SAFETY: within the extent stated above.
                let v = unsafe { load::<S>(row.add(x + 8 * g * S + j * d)) };
                *a = _mm256_fmadd_ps(v, wv, *a);
            }
        }
    }
    for (g, a) in acc.iter().enumerate() {
        // SAFETY: the caller's `out` has 8G floats.
        unsafe { _mm256_storeu_ps(out.add(8 * g), *a) };
    }
}

/// `p[0], p[S], ..., p[7S]`: a plain load at stride 1; at stride 2, the even lanes of `p[0..8]`
/// and the odd lanes of `p[7..15]` (so nothing past `p[14]` is read), put in order.
///
/// Safety: AVX2; `p[0..=7S]` readable.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn load<const S: usize>(p: *const f32) -> __m256 {
    // SAFETY: the caller guarantees p[0..=7S].
    unsafe {
        match S {
            1 => _mm256_loadu_ps(p),
            2 => {
                let (a, b) = (_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(7)));
                // Per 128-bit lane: a0 a2 b1 b3 | a4 a6 b5 b7, then the middle quarters swapped.
                let mixed = _mm256_shuffle_ps::<0b11_01_10_00>(a, b);
                let ordered = _mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(mixed));
                _mm256_castpd_ps(ordered)
            }
            _ => unreachable!("the depthwise block runs at stride 1 or 2"),
        }
    }
}

/// See [`DepthwiseBlock::block`]: 32 outputs at a time, then 8, then one group of 8 that
/// overlaps the previous outputs (rewriting the same values); rows shorter than 8 are scalar.
#[target_feature(enable = "avx2,fma")]
unsafe fn block<const K: usize, const S: usize>(
    out: &mut [f32],
    src: &[&[f32]; K],
    d: usize,
    bias: f32,
    w: &[[f32; K]; K],
) {
    let n = out.len();
    if n < 8 {
        for (k, o) in out.iter_mut().enumerate() {
            let mut acc = bias;
            for i in 0..K {
                for j in 0..K {
                    acc = src[i][k * S + j * d].mul_add(w[i][j], acc);
                }
            }
            *o = acc;
        }
        return;
    }
    let o = out.as_mut_ptr();
    let mut k = 0;
    // SAFETY (all calls): k + 8G <= n, and the sources hold (n - 1) * S + (K - 1) * d + 1
    // floats, so group reads stay inside; `out` has n floats.
    unsafe {
        while k + 32 <= n {
            groups::<K, S, 4>(o.add(k), src, k * S, d, bias, w);
            k += 32;
        }
        while k + 8 <= n {
            groups::<K, S, 1>(o.add(k), src, k * S, d, bias, w);
            k += 8;
        }
        if k < n {
            groups::<K, S, 1>(o.add(n - 8), src, (n - 8) * S, d, bias, w);
        }
    }
}

/// See [`crate::conv::PointwiseKernel`]: the portable loops with fused multiply-adds.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn pointwise(job: &PointwiseJob, out: PointwiseOut, p0: usize, p1: usize) {
    // SAFETY: forwarded contract; this function has the features the loops are built for.
    unsafe { pointwise_pixels::<true>(job, out, p0, p1) }
}
