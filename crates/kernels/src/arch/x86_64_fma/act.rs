//! Vectorized activations on 8-lane registers, used by the GEMM epilogue and on slices.

use std::arch::x86_64::*;

use crate::Activation;

/// Applies `act` to every register. One `match` per call keeps the branch out of the lanes.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn apply(xs: &mut [__m256], act: Activation) {
    let zero = _mm256_setzero_ps();
    match act {
        Activation::None => {}
        Activation::Relu => {
            for x in xs.iter_mut() {
                *x = _mm256_max_ps(*x, zero);
            }
        }
        Activation::Clip { min, max } => {
            let (lo, hi) = (_mm256_set1_ps(min), _mm256_set1_ps(max));
            for x in xs.iter_mut() {
                *x = _mm256_min_ps(_mm256_max_ps(*x, lo), hi);
            }
        }
        Activation::LeakyRelu { alpha } => {
            // max(x, 0) + alpha * min(x, 0) is right for any alpha, with no blend.
            let a = _mm256_set1_ps(alpha);
            for x in xs.iter_mut() {
                *x = _mm256_fmadd_ps(a, _mm256_min_ps(*x, zero), _mm256_max_ps(*x, zero));
            }
        }
        Activation::Sigmoid => {
            let one = _mm256_set1_ps(1.0);
            for x in xs.iter_mut() {
                let e = exp(_mm256_sub_ps(zero, *x));
                *x = _mm256_div_ps(one, _mm256_add_ps(one, e));
            }
        }
        Activation::HardSigmoid { alpha, beta } => {
            let (a, b) = (_mm256_set1_ps(alpha), _mm256_set1_ps(beta));
            let one = _mm256_set1_ps(1.0);
            for x in xs.iter_mut() {
                *x = _mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps(a, *x, b), zero), one);
            }
        }
        Activation::HardSwish => {
            let (a, b) = (_mm256_set1_ps(1.0 / 6.0), _mm256_set1_ps(0.5));
            let one = _mm256_set1_ps(1.0);
            for x in xs.iter_mut() {
                let g = _mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps(a, *x, b), zero), one);
                *x = _mm256_mul_ps(*x, g);
            }
        }
    }
}

/// `exp(x)` to about 2 ulp: Cephes' expf. Range reduction `x = n ln2 + r` with `|r| <= ln2/2`
/// (ln2 split in two so `n ln2` is exact), a degree-6 polynomial for `e^r`, and `2^n` built
/// in the exponent bits. Inputs are clamped so `n` stays in the normal exponent range.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(super) unsafe fn exp(x: __m256) -> __m256 {
    let x = _mm256_min_ps(
        _mm256_max_ps(x, _mm256_set1_ps(-87.3)),
        _mm256_set1_ps(88.3),
    );
    const NEAREST: i32 = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
    let n = _mm256_round_ps::<NEAREST>(_mm256_mul_ps(x, _mm256_set1_ps(std::f32::consts::LOG2_E)));
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693_359_4), x);
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.121_944_4e-4), r);
    let mut p = _mm256_set1_ps(1.987_569_1e-4);
    for c in [
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        1.666_666_5e-1,
        0.5,
    ] {
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
    }
    let r2 = _mm256_mul_ps(r, r);
    let p = _mm256_fmadd_ps(p, r2, _mm256_add_ps(r, _mm256_set1_ps(1.0)));
    let bits = _mm256_slli_epi32::<23>(_mm256_add_epi32(
        _mm256_cvtps_epi32(n),
        _mm256_set1_epi32(127),
    ));
    _mm256_mul_ps(p, _mm256_castsi256_ps(bits))
}

/// Applies an activation to a slice: whole registers, then the tail through a padded register.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn slice(xs: &mut [f32], act: Activation) {
    if act == Activation::None {
        return;
    }
    let mut chunks = xs.chunks_exact_mut(32);
    for chunk in &mut chunks {
        let p = chunk.as_mut_ptr();
        // SAFETY: the chunk has 32 floats, four registers' worth.
        unsafe {
            let mut v = [
                _mm256_loadu_ps(p),
                _mm256_loadu_ps(p.add(8)),
                _mm256_loadu_ps(p.add(16)),
                _mm256_loadu_ps(p.add(24)),
            ];
            apply(&mut v, act);
            for (i, r) in v.iter().enumerate() {
                _mm256_storeu_ps(p.add(8 * i), *r);
            }
        }
    }
    for tail in chunks.into_remainder().chunks_mut(8) {
        let mut buf = [0f32; 8];
        buf[..tail.len()].copy_from_slice(tail);
        // SAFETY: `buf` holds one register's worth of floats.
        unsafe {
            let mut v = [_mm256_loadu_ps(buf.as_ptr())];
            apply(&mut v, act);
            _mm256_storeu_ps(buf.as_mut_ptr(), v[0]);
        }
        tail.copy_from_slice(&buf[..tail.len()]);
    }
}
