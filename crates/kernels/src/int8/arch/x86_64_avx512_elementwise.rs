//! Element-wise int8 kernels on 512-bit registers (masked tails) for the VNNI tables: the
//! quantized residual add (the operations of `portable::add` in its order, so the bits are the
//! same) and the widening of depthwise input rows.

use std::arch::x86_64::*;

use super::super::elementwise::AddParams;
use super::x86_64_vnni::mask16;

/// `((a - za) * sa + (b - zb) * sb) / sy`, rounded half to even, clamped to `[lo, hi]`, plus
/// `zy`, for 16 widened lanes (`vcvtdq2ps` is exact on these small integers; `max` first
/// turns a NaN into `lo` like `f32::max`).
#[target_feature(enable = "avx512f")]
unsafe fn lanes(a: __m512i, b: __m512i, p: &AddParams) -> __m512i {
    let fa = _mm512_cvtepi32_ps(_mm512_sub_epi32(a, _mm512_set1_epi32(p.a.zero_point)));
    let fb = _mm512_cvtepi32_ps(_mm512_sub_epi32(b, _mm512_set1_epi32(p.b.zero_point)));
    let v = _mm512_add_ps(
        _mm512_mul_ps(fa, _mm512_set1_ps(p.a.scale)),
        _mm512_mul_ps(fb, _mm512_set1_ps(p.b.scale)),
    );
    let q = _mm512_div_ps(v, _mm512_set1_ps(p.y.scale));
    let r = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(q);
    let r = _mm512_min_ps(_mm512_max_ps(r, _mm512_set1_ps(p.lo)), _mm512_set1_ps(p.hi));
    _mm512_add_epi32(_mm512_cvtps_epi32(r), _mm512_set1_epi32(p.y.zero_point))
}

macro_rules! add_8bit {
    ($name:ident, $t:ty, $widen:ident, $narrow:ident) => {
        /// Quantized addition of equal-length slices, 16 elements per step.
        ///
        /// Safety: the CPU has AVX-512F/BW/VL.
        #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
        pub(crate) unsafe fn $name(a: &[$t], b: &[$t], p: &AddParams, y: &mut [$t]) {
            let n = y.len().min(a.len()).min(b.len());
            let mut i = 0;
            while i < n {
                let k = mask16(n - i);
                // SAFETY: lanes outside the mask are neither read nor written; i < n.
                unsafe {
                    let va = $widen(_mm_maskz_loadu_epi8(k, a.as_ptr().add(i) as *const _));
                    let vb = $widen(_mm_maskz_loadu_epi8(k, b.as_ptr().add(i) as *const _));
                    // Values are inside the type's range: the saturating narrowing only narrows.
                    $narrow(y.as_mut_ptr().add(i) as *mut _, k, lanes(va, vb, p));
                }
                i += 16;
            }
        }
    };
}

add_8bit!(
    add_u8,
    u8,
    _mm512_cvtepu8_epi32,
    _mm512_mask_cvtusepi32_storeu_epi8
);
add_8bit!(
    add_i8,
    i8,
    _mm512_cvtepi8_epi32,
    _mm512_mask_cvtsepi32_storeu_epi8
);

/// `dst[i] = (src[i] ^ flip) - zp` as i16 for `i < n`, 32 per step ([`super::WidenKernel`]).
///
/// Safety: `src` has `n` readable bytes, `dst` `n` writable i16, the CPU AVX-512F/BW/VL.
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
pub(crate) unsafe fn widen_row(src: *const u8, n: usize, flip: u8, zp: i32, dst: *mut i16) {
    let f = _mm256_set1_epi8(flip as i8);
    let z = _mm512_set1_epi16(zp as i16);
    let mut i = 0;
    while i < n {
        let k: __mmask32 = if n - i >= 32 {
            u32::MAX
        } else {
            (1u32 << (n - i)) - 1
        };
        // SAFETY: lanes outside the mask are neither read nor written; i < n.
        unsafe {
            let v = _mm256_maskz_loadu_epi8(k, src.add(i) as *const i8);
            let v = _mm512_cvtepu8_epi16(_mm256_xor_si256(v, f));
            _mm512_mask_storeu_epi16(dst.add(i), k, _mm512_sub_epi16(v, z));
        }
        i += 32;
    }
}

macro_rules! quantize_8bit {
    ($name:ident, $t:ty, $narrow:ident) => {
        /// `saturate(round_half_even(x / scale) + zp)`, NaN to `zp`: `portable::quantize`'s
        /// operations, 16 per step (the bounds are integers, so clamping before the rounding
        /// conversion equals clamping after it).
        ///
        /// Safety: the CPU has AVX-512F/BW/VL.
        #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
        pub(crate) unsafe fn $name(x: &[f32], scale: f32, zp: i32, out: &mut [$t]) {
            let n = out.len().min(x.len());
            let lo = _mm512_set1_ps((<$t>::MIN as i32 - zp) as f32);
            let hi = _mm512_set1_ps((<$t>::MAX as i32 - zp) as f32);
            let (s, z) = (_mm512_set1_ps(scale), _mm512_set1_epi32(zp));
            let mut i = 0;
            while i < n {
                let k = mask16(n - i);
                // SAFETY: lanes outside the mask are neither read nor written; i < n.
                unsafe {
                    let q = _mm512_div_ps(_mm512_maskz_loadu_ps(k, x.as_ptr().add(i)), s);
                    let nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(q, q);
                    let c = _mm512_min_ps(_mm512_max_ps(q, lo), hi);
                    let c = _mm512_mask_mov_ps(c, nan, _mm512_setzero_ps());
                    let r = _mm512_cvt_roundps_epi32::<
                        { _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC },
                    >(c);
                    $narrow(out.as_mut_ptr().add(i) as *mut _, k, _mm512_add_epi32(r, z));
                }
                i += 16;
            }
        }
    };
}

quantize_8bit!(quantize_u8, u8, _mm512_mask_cvtusepi32_storeu_epi8);
quantize_8bit!(quantize_i8, i8, _mm512_mask_cvtsepi32_storeu_epi8);
