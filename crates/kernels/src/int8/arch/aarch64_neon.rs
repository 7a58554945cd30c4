//! NEON int8 kernels for aarch64 (NEON is baseline there: no detection needed).
//!
//! The 4x8 micro-kernel widens: `smlal`/`smlal2` multiply the i16 pairs of the packed layout
//! into i32 lanes that stay unreduced (one lane per depth of a pair) until the end, where one
//! pairwise add (`addp`) per four columns sums the two depths. 16 accumulators, exact.
//! (`sdot`, 4 products per lane, needs raw 8-bit operands and zero-point sums: not done yet.)
//! The other kernels are the portable bodies, vectorized for baseline NEON.

use std::arch::aarch64::*;

use super::super::Int8Kernels;

const MR: usize = 4;
const NR: usize = 8;

pub(crate) fn plug(table: &mut Int8Kernels) {
    table.name = "aarch64_neon";
    table.mr = MR;
    table.nr = NR;
    table.tile = tile;
}

// Index loops over the register arrays read as the math.
#[allow(clippy::needless_range_loop)]
/// Safety: the contract of `TileKernel` (NEON is always present on aarch64).
unsafe fn tile(kp: usize, a: *const i16, b: *const i16, c: *mut i32) {
    unsafe {
        // acc[i][q]: row i, columns 2q and 2q + 1, lanes (col, depth parity).
        let mut acc = [[vdupq_n_s32(0); 4]; MR];
        for p in 0..kp {
            let bp = b.add(p * 2 * NR);
            let b0 = vld1q_s16(bp);
            let b1 = vld1q_s16(bp.add(8));
            let ap = a.add(p * 2 * MR) as *const i32;
            for i in 0..MR {
                let w = vreinterpretq_s16_s32(vdupq_n_s32(ap.add(i).read_unaligned()));
                let wl = vget_low_s16(w);
                acc[i][0] = vmlal_s16(acc[i][0], vget_low_s16(b0), wl);
                acc[i][1] = vmlal_high_s16(acc[i][1], b0, w);
                acc[i][2] = vmlal_s16(acc[i][2], vget_low_s16(b1), wl);
                acc[i][3] = vmlal_high_s16(acc[i][3], b1, w);
            }
        }
        for i in 0..MR {
            let ci = c.add(i * NR);
            vst1q_s32(ci, vpaddq_s32(acc[i][0], acc[i][1]));
            vst1q_s32(ci.add(4), vpaddq_s32(acc[i][2], acc[i][3]));
        }
    }
}
