//! Vectorized activations on 4-lane registers, used by the GEMM epilogue and on slices.

use std::arch::aarch64::*;

use crate::Activation;

/// Applies `act` to every register. One `match` per call keeps the branch out of the lanes.
///
/// Safety: none beyond NEON, which is in the aarch64 baseline; `unsafe` because the NEON
/// intrinsics were `unsafe fn`s before Rust 1.87 (this workspace supports 1.85).
pub(super) unsafe fn apply(xs: &mut [float32x4_t], act: Activation) {
    let zero = vdupq_n_f32(0.0);
    match act {
        Activation::None => {}
        Activation::Relu => {
            for x in xs.iter_mut() {
                *x = vmaxq_f32(*x, zero);
            }
        }
        Activation::Clip { min, max } => {
            for x in xs.iter_mut() {
                *x = vminq_f32(vmaxq_f32(*x, vdupq_n_f32(min)), vdupq_n_f32(max));
            }
        }
        Activation::LeakyRelu { alpha } => {
            // max(x, 0) + alpha * min(x, 0) is right for any alpha, with no select.
            for x in xs.iter_mut() {
                *x = vfmaq_f32(vmaxq_f32(*x, zero), vdupq_n_f32(alpha), vminq_f32(*x, zero));
            }
        }
        Activation::Sigmoid => {
            for x in xs.iter_mut() {
                let one = vdupq_n_f32(1.0);
                *x = vdivq_f32(one, vaddq_f32(one, exp(vnegq_f32(*x))));
            }
        }
        Activation::HardSigmoid { alpha, beta } => {
            for x in xs.iter_mut() {
                *x = hard_sigmoid(*x, alpha, beta);
            }
        }
        Activation::HardSwish => {
            for x in xs.iter_mut() {
                *x = vmulq_f32(*x, hard_sigmoid(*x, 1.0 / 6.0, 0.5));
            }
        }
    }
}

#[inline]
unsafe fn hard_sigmoid(x: float32x4_t, alpha: f32, beta: f32) -> float32x4_t {
    let y = vfmaq_f32(vdupq_n_f32(beta), vdupq_n_f32(alpha), x);
    vminq_f32(vmaxq_f32(y, vdupq_n_f32(0.0)), vdupq_n_f32(1.0))
}

/// `exp(x)` to about 2 ulp: Cephes' expf, as in the x86-64 version (see there).
#[inline]
unsafe fn exp(x: float32x4_t) -> float32x4_t {
    let x = vminq_f32(vmaxq_f32(x, vdupq_n_f32(-87.3)), vdupq_n_f32(88.3));
    let n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(std::f32::consts::LOG2_E)));
    let r = vfmsq_f32(x, n, vdupq_n_f32(0.693_359_4));
    let r = vfmsq_f32(r, n, vdupq_n_f32(-2.121_944_4e-4));
    let mut p = vdupq_n_f32(1.987_569_1e-4);
    for c in [
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        1.666_666_5e-1,
        0.5,
    ] {
        p = vfmaq_f32(vdupq_n_f32(c), p, r);
    }
    let p = vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0)), p, vmulq_f32(r, r));
    let bits = vshlq_n_s32::<23>(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)));
    vmulq_f32(p, vreinterpretq_f32_s32(bits))
}

/// Applies an activation to a slice: whole registers, then the tail through a padded register.
pub(super) unsafe fn slice(xs: &mut [f32], act: Activation) {
    if act == Activation::None {
        return;
    }
    let mut chunks = xs.chunks_exact_mut(16);
    for chunk in &mut chunks {
        let p = chunk.as_mut_ptr();
        // SAFETY: the chunk has 16 floats, four registers' worth.
        unsafe {
            let mut v = [
                vld1q_f32(p),
                vld1q_f32(p.add(4)),
                vld1q_f32(p.add(8)),
                vld1q_f32(p.add(12)),
            ];
            apply(&mut v, act);
            for (i, r) in v.iter().enumerate() {
                vst1q_f32(p.add(4 * i), *r);
            }
        }
    }
    for tail in chunks.into_remainder().chunks_mut(4) {
        let mut buf = [0f32; 4];
        buf[..tail.len()].copy_from_slice(tail);
        // SAFETY: `buf` holds one register's worth of floats.
        unsafe {
            let mut v = [vld1q_f32(buf.as_ptr())];
            apply(&mut v, act);
            vst1q_f32(buf.as_mut_ptr(), v[0]);
        }
        tail.copy_from_slice(&buf[..tail.len()]);
    }
}
