//! Portable GEMM micro-kernel.

use crate::arch::{Epilogue, TileBias};

/// Tile rows: with `NR = 8`, 4 x 8 accumulators are 8 SSE registers (of 16), leaving room for
/// the B row and the broadcast A value, so the compiler keeps the tile in registers.
pub(crate) const MR: usize = 4;
/// Tile columns.
pub(crate) const NR: usize = 8;

/// See [`crate::arch::MicroKernel`] for the contract.
pub(crate) unsafe fn kernel(
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
#[inline]
unsafe fn tile(kc: usize, a: *const f32, b: *const f32, c: *mut f32, rsc: usize, epi: &Epilogue) {
    // SAFETY: the caller guarantees `kc * MR` floats at `a` and `kc * NR` at `b`.
    let (a, b) = unsafe {
        (
            std::slice::from_raw_parts(a, kc * MR),
            std::slice::from_raw_parts(b, kc * NR),
        )
    };
    let mut acc = [[0f32; NR]; MR];
    for (ap, bp) in a.chunks_exact(MR).zip(b.chunks_exact(NR)) {
        for i in 0..MR {
            for j in 0..NR {
                // a * b + c, not mul_add: without FMA in the baseline, mul_add is a libm call.
                acc[i][j] += ap[i] * bp[j];
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            // SAFETY: the caller guarantees MR rows of NR floats at stride `rsc` in `c`, and
            // bias extents of MR (row) or NR (column) values.
            unsafe {
                let out = c.add(i * rsc + j);
                let mut x = epi.alpha * v;
                if epi.beta != 0.0 {
                    x += epi.beta * *out;
                }
                match epi.bias {
                    TileBias::None => {}
                    TileBias::Row(p) => x += *p.add(i),
                    TileBias::Col(p) => x += *p.add(j),
                }
                *out = epi.act.apply(x);
            }
        }
    }
}
