//! The quantized residual add on 512-bit registers (16 lanes, masked tail), for the VNNI
//! tables: the operations of `portable::add` in its order, so the bits are the same.

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
