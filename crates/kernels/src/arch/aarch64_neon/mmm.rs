//! NEON GEMM micro-kernel.
//!
//! 8x8 tile: 16 accumulator registers (of 32), 2 for the A column and 2 for the B row; each
//! k step is 4 loads for 16 FMAs, with A values taken by lane (`fmla v.4s, v.4s, v.s[l]`)
//! instead of separate broadcasts.

use std::arch::aarch64::*;

use super::act;
use crate::arch::{Epilogue, TileBias};
use crate::Activation;

/// Tile rows.
pub(crate) const MR: usize = 8;
/// Tile columns.
pub(crate) const NR: usize = 8;

/// See [`crate::arch::MicroKernel`] for the contract.
pub(super) unsafe fn kernel(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    rsc: usize,
    epi: &Epilogue,
    tiles: usize,
) {
    for t in 0..tiles {
        // SAFETY: the caller guarantees `tiles` A panels, C row blocks and row-bias blocks.
        unsafe {
            tile(
                kc,
                a.add(t * kc * MR),
                b,
                c.add(t * MR * rsc),
                rsc,
                &epi.for_tile(t, MR),
            )
        };
    }
}

/// One tile of [`kernel`].
// Index loops over the const-sized register arrays read as the math; iterators add nothing.
#[allow(clippy::needless_range_loop)]
#[inline]
unsafe fn tile(kc: usize, a: *const f32, b: *const f32, c: *mut f32, rsc: usize, epi: &Epilogue) {
    let mut acc = [[vdupq_n_f32(0.0); 2]; MR];
    for p in 0..kc {
        // SAFETY: p < kc, and the panels hold kc * 8 floats each.
        let (a0, a1, b0, b1) = unsafe {
            let (ap, bp) = (a.add(p * MR), b.add(p * NR));
            (
                vld1q_f32(ap),
                vld1q_f32(ap.add(4)),
                vld1q_f32(bp),
                vld1q_f32(bp.add(4)),
            )
        };
        macro_rules! row {
            ($i:expr, $a:expr, $lane:expr) => {
                acc[$i][0] = vfmaq_laneq_f32::<$lane>(acc[$i][0], b0, $a);
                acc[$i][1] = vfmaq_laneq_f32::<$lane>(acc[$i][1], b1, $a);
            };
        }
        row!(0, a0, 0);
        row!(1, a0, 1);
        row!(2, a0, 2);
        row!(3, a0, 3);
        row!(4, a1, 0);
        row!(5, a1, 1);
        row!(6, a1, 2);
        row!(7, a1, 3);
    }

    // Epilogue on a copy, so that `acc` never has its address taken and stays in registers.
    let mut out = acc;
    let alpha = vdupq_n_f32(epi.alpha);
    let beta = vdupq_n_f32(epi.beta);
    for i in 0..MR {
        for v in 0..2 {
            // SAFETY: row i < MR of C has NR floats; the bias has MR (row) or NR (column) values.
            unsafe {
                let cp = c.add(i * rsc + 4 * v);
                let mut x = vmulq_f32(out[i][v], alpha);
                if epi.beta != 0.0 {
                    x = vfmaq_f32(x, beta, vld1q_f32(cp));
                }
                match epi.bias {
                    TileBias::None => {}
                    TileBias::Row(p) => x = vaddq_f32(x, vdupq_n_f32(*p.add(i))),
                    TileBias::Col(p) => x = vaddq_f32(x, vld1q_f32(p.add(4 * v))),
                }
                out[i][v] = x;
            }
        }
    }
    if epi.act != Activation::None {
        // SAFETY: register arithmetic only.
        unsafe { act::apply(out.as_flattened_mut(), epi.act) };
    }
    for i in 0..MR {
        for v in 0..2 {
            // SAFETY: as above.
            unsafe { vst1q_f32(c.add(i * rsc + 4 * v), out[i][v]) };
        }
    }
}
