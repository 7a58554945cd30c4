//! Convolution kernels: the depthwise plane loop of `conv` with AVX2 + FMA vectors, and
//! AVX-512 ones where the CPU has them (checked at run time; `EDGEOPT_AVX512=0` turns them
//! off for comparisons).

use std::arch::x86_64::*;
use std::sync::OnceLock;

use super::act;
use crate::conv::{
    depthwise_blocked, depthwise_plane, pointwise_pixels, DepthwiseBlock, DepthwiseChannels,
    DepthwiseLanes, DepthwisePlane, PointwiseJob, PointwiseOut,
};
use crate::Activation;

/// Whether this CPU runs AVX-512F and the environment does not turn it off (read once):
/// `EDGEOPT_AVX512=0`, or `EDGEOPT_KERNELS` asking for the AVX2 table.
pub(crate) fn avx512() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        let avx2_asked = std::env::var("EDGEOPT_KERNELS")
            .is_ok_and(|v| matches!(v.trim(), "avx2" | "fma" | "x86_64_fma"));
        std::env::var("EDGEOPT_AVX512").map_or(true, |v| v.trim() != "0")
            && !avx2_asked
            && is_x86_feature_detected!("avx512f")
    })
}

/// See [`crate::conv::DepthwiseKernel`]: AVX-512 where [`avx512`] allows it, else AVX2.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn depthwise(
    p: &DepthwisePlane,
    x: &[f32],
    w: &[f32],
    out: &mut [f32],
    buf: &mut [f32],
) {
    if avx512() {
        // SAFETY: forwarded contract; the CPU has AVX-512F (checked).
        return unsafe { depthwise_avx512(p, x, w, out, buf) };
    }
    // SAFETY: forwarded contract.
    unsafe { depthwise_avx2(p, x, w, out, buf) }
}

/// The AVX2 + FMA depthwise kernel. Safety: see [`crate::conv::DepthwiseKernel`].
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn depthwise_avx2(
    p: &DepthwisePlane,
    x: &[f32],
    w: &[f32],
    out: &mut [f32],
    buf: &mut [f32],
) {
    // SAFETY: forwarded contract; this function has the features `Avx2` needs.
    unsafe { depthwise_plane::<true, Avx2, Avx2Lanes, Avx2Lanes>(p, x, w, out, buf) }
}

/// The depthwise kernel with 16-lane vectors (8-lane ones for narrower rows). Safety: see
/// [`crate::conv::DepthwiseKernel`], and the CPU has AVX-512F.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(crate) unsafe fn depthwise_avx512(
    p: &DepthwisePlane,
    x: &[f32],
    w: &[f32],
    out: &mut [f32],
    buf: &mut [f32],
) {
    // SAFETY: forwarded contract; this function has every feature the lanes need.
    unsafe { depthwise_plane::<true, Avx2, Avx512Lanes, Avx2Lanes>(p, x, w, out, buf) }
}

/// See [`crate::conv::DepthwiseBlockKernel`]: AVX-512 where [`avx512`] allows it, else AVX2.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn depthwise_block(
    p: &DepthwiseChannels,
    x: &[f32],
    out: &mut [f32],
    buf: &mut [f32],
) {
    // SAFETY (both): forwarded contract; AVX-512F checked where used.
    if avx512() {
        return unsafe { depthwise_block_avx512(p, x, out, buf) };
    }
    unsafe { depthwise_block_avx2(p, x, out, buf) }
}

/// The blocked depthwise kernel with 8-lane vectors. Safety: see
/// [`crate::conv::DepthwiseBlockKernel`].
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn depthwise_block_avx2(
    p: &DepthwiseChannels,
    x: &[f32],
    out: &mut [f32],
    buf: &mut [f32],
) {
    // SAFETY: forwarded contract; this function has the features `Avx2Lanes` needs.
    unsafe { depthwise_blocked::<Avx2Lanes>(p, x, out, buf) }
}

/// The blocked depthwise kernel with 16-lane vectors. Safety: see
/// [`crate::conv::DepthwiseBlockKernel`], and the CPU has AVX-512F.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(crate) unsafe fn depthwise_block_avx512(
    p: &DepthwiseChannels,
    x: &[f32],
    out: &mut [f32],
    buf: &mut [f32],
) {
    // SAFETY: forwarded contract; this function has the features `Avx512Lanes` needs.
    unsafe { depthwise_blocked::<Avx512Lanes>(p, x, out, buf) }
}

#[derive(Clone, Copy)]
pub(crate) struct Avx2Lanes(__m256);

impl DepthwiseLanes for Avx2Lanes {
    const N: usize = 8;
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        // SAFETY (all methods): the caller guarantees AVX2 + FMA and valid pointers.
        unsafe { Avx2Lanes(_mm256_set1_ps(x)) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        unsafe { Avx2Lanes(_mm256_loadu_ps(p)) }
    }
    #[inline(always)]
    unsafe fn load_partial(p: *const f32, n: usize) -> Self {
        unsafe {
            let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            let mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), lane);
            Avx2Lanes(_mm256_maskload_ps(p, mask))
        }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        unsafe { _mm256_storeu_ps(p, self.0) }
    }
    #[inline(always)]
    unsafe fn store_partial(self, p: *mut f32, n: usize) {
        unsafe {
            let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            let mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), lane);
            _mm256_maskstore_ps(p, mask, self.0)
        }
    }
    #[inline(always)]
    unsafe fn transpose(v: &mut [Self]) {
        // (Plain loops, no closures: closures do not inherit the target features, and an
        // intrinsic that is not inlined is a call per instruction.)
        unsafe {
            let mut t = [_mm256_setzero_ps(); 8];
            for k in 0..4 {
                t[2 * k] = _mm256_unpacklo_ps(v[2 * k].0, v[2 * k + 1].0);
                t[2 * k + 1] = _mm256_unpackhi_ps(v[2 * k].0, v[2 * k + 1].0);
            }
            // u[g][k] holds, per 128-bit half h, column 4h + k of rows 4g..4g + 4.
            let mut u = [[_mm256_setzero_ps(); 4]; 2];
            for g in 0..2 {
                let (t0, t1) = (_mm256_castps_pd(t[4 * g]), _mm256_castps_pd(t[4 * g + 1]));
                let (t2, t3) = (
                    _mm256_castps_pd(t[4 * g + 2]),
                    _mm256_castps_pd(t[4 * g + 3]),
                );
                u[g][0] = _mm256_castpd_ps(_mm256_unpacklo_pd(t0, t2));
                u[g][1] = _mm256_castpd_ps(_mm256_unpackhi_pd(t0, t2));
                u[g][2] = _mm256_castpd_ps(_mm256_unpacklo_pd(t1, t3));
                u[g][3] = _mm256_castpd_ps(_mm256_unpackhi_pd(t1, t3));
            }
            for k in 0..4 {
                v[k].0 = _mm256_permute2f128_ps::<0x20>(u[0][k], u[1][k]);
                v[4 + k].0 = _mm256_permute2f128_ps::<0x31>(u[0][k], u[1][k]);
            }
        }
    }
    #[inline(always)]
    unsafe fn mul_add(self, w: Self, acc: Self) -> Self {
        unsafe { Avx2Lanes(_mm256_fmadd_ps(self.0, w.0, acc.0)) }
    }
    #[inline(always)]
    unsafe fn deinterleave(a: Self, b: Self) -> (Self, Self) {
        unsafe {
            let (a, b) = (a.0, b.0);
            // Per 128-bit lane: a0 a2 b0 b2 | a4 a6 b4 b6, then the middle quarters swapped.
            let even = _mm256_castps_pd(_mm256_shuffle_ps::<0b10_00_10_00>(a, b));
            let odd = _mm256_castps_pd(_mm256_shuffle_ps::<0b11_01_11_01>(a, b));
            (
                Avx2Lanes(_mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(
                    even,
                ))),
                Avx2Lanes(_mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(
                    odd,
                ))),
            )
        }
    }
    fn fuses(_: Activation) -> bool {
        true
    }
    #[inline(always)]
    unsafe fn activate(v: &mut [Self], act: Activation) {
        if act == Activation::None {
            return;
        }
        let mut regs = [_mm256_setzero_ps(); 4];
        for chunk in v.chunks_mut(4) {
            for (r, x) in regs.iter_mut().zip(chunk.iter()) {
                *r = x.0;
            }
            // SAFETY: AVX2 + FMA, guaranteed by the caller.
            unsafe { act::apply(&mut regs[..chunk.len()], act) };
            for (r, x) in regs.iter().zip(chunk.iter_mut()) {
                x.0 = *r;
            }
        }
    }
}

/// `min(max(x, lo), hi)`. Safety: AVX-512F.
#[inline(always)]
unsafe fn clamp(x: __m512, lo: __m512, hi: __m512) -> __m512 {
    // SAFETY: the caller guarantees AVX-512F.
    unsafe { _mm512_min_ps(_mm512_max_ps(x, lo), hi) }
}

#[derive(Clone, Copy)]
pub(crate) struct Avx512Lanes(__m512);

impl DepthwiseLanes for Avx512Lanes {
    const N: usize = 16;
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        // SAFETY (all methods): the caller guarantees AVX-512F and valid pointers.
        unsafe { Avx512Lanes(_mm512_set1_ps(x)) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        unsafe { Avx512Lanes(_mm512_loadu_ps(p)) }
    }
    #[inline(always)]
    unsafe fn load_partial(p: *const f32, n: usize) -> Self {
        unsafe { Avx512Lanes(_mm512_maskz_loadu_ps(((1u32 << n) - 1) as u16, p)) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        unsafe { _mm512_storeu_ps(p, self.0) }
    }
    #[inline(always)]
    unsafe fn store_partial(self, p: *mut f32, n: usize) {
        unsafe { _mm512_mask_storeu_ps(p, ((1u32 << n) - 1) as u16, self.0) }
    }
    #[inline(always)]
    unsafe fn transpose(v: &mut [Self]) {
        // (Plain loops, no closures: see `Avx2Lanes::transpose`.)
        unsafe {
            let mut t = [_mm512_setzero_ps(); 16];
            for k in 0..8 {
                t[2 * k] = _mm512_unpacklo_ps(v[2 * k].0, v[2 * k + 1].0);
                t[2 * k + 1] = _mm512_unpackhi_ps(v[2 * k].0, v[2 * k + 1].0);
            }
            // u[g][k] holds, per 128-bit quarter q, column 4q + k of rows 4g..4g + 4.
            let mut u = [[_mm512_setzero_ps(); 4]; 4];
            for g in 0..4 {
                let (t0, t1) = (_mm512_castps_pd(t[4 * g]), _mm512_castps_pd(t[4 * g + 1]));
                let (t2, t3) = (
                    _mm512_castps_pd(t[4 * g + 2]),
                    _mm512_castps_pd(t[4 * g + 3]),
                );
                u[g][0] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
                u[g][1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
                u[g][2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
                u[g][3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
            }
            for k in 0..4 {
                // Quarters (0, 2) and (1, 3) of two row groups, then of the two halves.
                let lo01 = _mm512_shuffle_f32x4::<0x88>(u[0][k], u[1][k]);
                let hi01 = _mm512_shuffle_f32x4::<0xdd>(u[0][k], u[1][k]);
                let lo23 = _mm512_shuffle_f32x4::<0x88>(u[2][k], u[3][k]);
                let hi23 = _mm512_shuffle_f32x4::<0xdd>(u[2][k], u[3][k]);
                v[k].0 = _mm512_shuffle_f32x4::<0x88>(lo01, lo23);
                v[8 + k].0 = _mm512_shuffle_f32x4::<0xdd>(lo01, lo23);
                v[4 + k].0 = _mm512_shuffle_f32x4::<0x88>(hi01, hi23);
                v[12 + k].0 = _mm512_shuffle_f32x4::<0xdd>(hi01, hi23);
            }
        }
    }
    #[inline(always)]
    unsafe fn mul_add(self, w: Self, acc: Self) -> Self {
        unsafe { Avx512Lanes(_mm512_fmadd_ps(self.0, w.0, acc.0)) }
    }
    #[inline(always)]
    unsafe fn deinterleave(a: Self, b: Self) -> (Self, Self) {
        unsafe {
            let (a, b) = (a.0, b.0);
            let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            let odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
            (
                Avx512Lanes(_mm512_permutex2var_ps(a, even, b)),
                Avx512Lanes(_mm512_permutex2var_ps(a, odd, b)),
            )
        }
    }
    fn fuses(act: Activation) -> bool {
        act != Activation::Sigmoid
    }
    #[inline(always)]
    unsafe fn activate(v: &mut [Self], act: Activation) {
        // SAFETY: AVX-512F, guaranteed by the caller.
        unsafe {
            let zero = _mm512_setzero_ps();
            match act {
                Activation::None | Activation::Sigmoid => {}
                Activation::Relu => v.iter_mut().for_each(|x| x.0 = _mm512_max_ps(x.0, zero)),
                Activation::Clip { min, max } => {
                    let (lo, hi) = (_mm512_set1_ps(min), _mm512_set1_ps(max));
                    v.iter_mut().for_each(|x| x.0 = clamp(x.0, lo, hi));
                }
                Activation::LeakyRelu { alpha } => {
                    let a = _mm512_set1_ps(alpha);
                    v.iter_mut().for_each(|x| {
                        let neg = _mm512_min_ps(x.0, zero);
                        x.0 = _mm512_fmadd_ps(a, neg, _mm512_max_ps(x.0, zero));
                    });
                }
                Activation::HardSigmoid { alpha, beta } => {
                    let (a, b, one) = (
                        _mm512_set1_ps(alpha),
                        _mm512_set1_ps(beta),
                        _mm512_set1_ps(1.0),
                    );
                    v.iter_mut()
                        .for_each(|x| x.0 = clamp(_mm512_fmadd_ps(a, x.0, b), zero, one));
                }
                Activation::HardSwish => {
                    let (a, b, one) = (
                        _mm512_set1_ps(1.0 / 6.0),
                        _mm512_set1_ps(0.5),
                        _mm512_set1_ps(1.0),
                    );
                    v.iter_mut().for_each(|x| {
                        let g = clamp(_mm512_fmadd_ps(a, x.0, b), zero, one);
                        x.0 = _mm512_mul_ps(x.0, g);
                    });
                }
            }
        }
    }
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

/// The AVX2 and AVX-512 depthwise kernels each against the naive reference (the native
/// table picks one of them per CPU, so `tests/conv_props.rs` alone would leave the other
/// untested); AVX-512 cases are skipped on CPUs without it.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv::{Conv2dShape, ConvAlgo, DepthwiseBlockKernel, DepthwiseKernel, PackedConv};
    use crate::{reference, Kernels};
    use proptest::prelude::*;

    fn table(kernel: DepthwiseKernel, block: DepthwiseBlockKernel) -> &'static Kernels {
        let mut t = Kernels::native().clone();
        t.depthwise = kernel;
        t.depthwise_block = block;
        Box::leak(Box::new(t))
    }

    fn random(len: usize, mut s: u64) -> Vec<f32> {
        s |= 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
            })
            .collect()
    }

    fn check(s: &Conv2dShape, act: Activation, seed: u64) {
        if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
            return;
        }
        let (x, w, b) = (
            random(s.input_len(), seed),
            random(s.weight_len(), seed + 1),
            random(s.out_channels, seed + 2),
        );
        let (want, mag) = reference::conv2d(s, &x, &w, Some(&b), act).unwrap();
        type Pair = (&'static str, DepthwiseKernel, DepthwiseBlockKernel);
        let mut kernels: Vec<Pair> = vec![("avx2", depthwise_avx2, depthwise_block_avx2)];
        if is_x86_feature_detected!("avx512f") {
            kernels.push(("avx512", depthwise_avx512, depthwise_block_avx512));
        }
        for (name, kernel, block) in kernels {
            let t = table(kernel, block);
            let conv =
                PackedConv::with_kernels(t, s, &w, Some(&b), act, ConvAlgo::Depthwise).unwrap();
            let mut out = vec![f32::NAN; s.output_len()];
            conv.run(&x, &mut out, &mut [], 1).unwrap();
            for (i, ((&got, &want), &m)) in out.iter().zip(&want).zip(&mag).enumerate() {
                let tol = 1e-5 * m * act.lipschitz().max(1.0) as f64 + 1e-6;
                assert!(
                    (got as f64 - want as f64).abs() <= tol,
                    "{name} output {i}: got {got}, want {want} for {s}"
                );
            }
        }
    }

    fn activation() -> impl Strategy<Value = Activation> {
        prop_oneof![
            Just(Activation::None),
            Just(Activation::Relu),
            Just(Activation::Clip { min: 0.0, max: 0.5 }),
            Just(Activation::HardSwish),
            Just(Activation::LeakyRelu { alpha: 0.1 }),
            Just(Activation::HardSigmoid {
                alpha: 0.2,
                beta: 0.5
            }),
            Just(Activation::Sigmoid),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Odd and even sizes from below one vector to several, strides 1 and 2, 3x3 and
        /// 5x5, pads 0-2 on each side independently.
        #[test]
        fn depthwise_matches_reference(
            (c, h, w) in (1usize..5, 1usize..40, 1usize..40),
            k in prop_oneof![Just(3usize), Just(5)],
            stride in 1usize..3,
            pads in (0usize..3, 0usize..3, 0usize..3, 0usize..3),
            act in activation(),
            seed in any::<u64>(),
        ) {
            let mut s = Conv2dShape::simple(1, c, h + k, w + k, c, k);
            (s.groups, s.stride_h, s.stride_w) = (c, stride, stride);
            (s.pad_top, s.pad_left, s.pad_bottom, s.pad_right) = pads;
            check(&s, act, seed);
        }

        /// The small-plane (blocked) path: channel counts across vector blocks, batches whose
        /// blocks straddle two images, outputs up to its widest rows.
        #[test]
        fn blocked_depthwise_matches_reference(
            (n, c, h, w) in (1usize..3, 1usize..40, 1usize..16, 1usize..16),
            k in prop_oneof![Just(3usize), Just(5)],
            stride in 1usize..3,
            pads in (0usize..3, 0usize..3, 0usize..3, 0usize..3),
            act in activation(),
            seed in any::<u64>(),
        ) {
            let mut s = Conv2dShape::simple(n, c, h + k, w + k, c, k);
            (s.groups, s.stride_h, s.stride_w) = (c, stride, stride);
            (s.pad_top, s.pad_left, s.pad_bottom, s.pad_right) = pads;
            check(&s, act, seed);
        }
    }

    #[test]
    fn mobilenet_shapes() {
        for (hw, stride, c) in [
            (112, 1, 3),
            (112, 2, 3),
            (56, 2, 3),
            (14, 1, 3),
            (14, 2, 3),
            (7, 1, 3),
            (14, 2, 37),
            (7, 1, 41),
        ] {
            let mut s = Conv2dShape::simple(1, c, hw, hw, c, 3);
            (s.groups, s.stride_h, s.stride_w) = (c, stride, stride);
            (s.pad_top, s.pad_left, s.pad_bottom, s.pad_right) = (1, 1, 1, 1);
            check(&s, Activation::Clip { min: 0.0, max: 6.0 }, hw as u64);
        }
    }
}
