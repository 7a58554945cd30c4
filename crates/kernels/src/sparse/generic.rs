//! Portable sparse x dense pass: the twin of the AVX2 and AVX-512 passes (same blocking, same
//! accumulator sets, so the same sums in the same order), vectorized by the compiler.

use super::spmm::{sets, Pass, PassKernel};

/// Lanes of one portable "vector".
const L: usize = 8;

pub(super) struct Generic;

impl PassKernel for Generic {
    const LANES: usize = L;
    const MAX_VECS: usize = 4;
    const MASKED_LOADS: bool = false;

    unsafe fn run(p: &Pass) {
        // SAFETY: forwarded.
        unsafe {
            match p.width.div_ceil(L) {
                4 => pass::<4, { sets(4) }>(p),
                3 => pass::<3, { sets(3) }>(p),
                2 => pass::<2, { sets(2) }>(p),
                _ => pass::<1, { sets(1) }>(p),
            }
        }
    }
}

/// Safety: as [`PassKernel::run`], `p.width <= 8 * V`.
unsafe fn pass<const V: usize, const S: usize>(p: &Pass) {
    debug_assert!(!p.masked, "the portable pass reads whole vectors");
    let (cols, vals) = (p.w.col_idx(), p.w.values());
    for r in 0..p.w.rows() {
        let mut acc = [[[0f32; L]; V]; S];
        // SAFETY: row r of Y has `width` writable columns.
        let out = unsafe { std::slice::from_raw_parts_mut(p.dst.add(r * p.ldy), p.width) };
        if p.first {
            acc[0] = [[p.bias.map_or(0.0, |b| b[r]); L]; V];
        } else {
            for (j, v) in out.iter().enumerate() {
                acc[0][j / L][j % L] = *v;
            }
        }
        let (lo, hi) = p.w.block_range(r, p.blocks.0, p.blocks.1);
        let fma = |set: &mut [[f32; L]; V], c: u32, v: f32| {
            // SAFETY: row c of X has 8V readable columns.
            let row = unsafe { std::slice::from_raw_parts(p.src.add(c as usize * p.pitch), L * V) };
            for (a, xs) in set.iter_mut().zip(row.chunks_exact(L)) {
                for (a, x) in a.iter_mut().zip(xs) {
                    *a += v * x;
                }
            }
        };
        let mut cc = cols[lo..hi].chunks_exact(S);
        let mut vc = vals[lo..hi].chunks_exact(S);
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
            for (a, b) in sum[0].iter_mut().flatten().zip(set.iter().flatten()) {
                *a += *b;
            }
        }
        for (j, o) in out.iter_mut().enumerate() {
            let v = acc[0][j / L][j % L];
            *o = match p.clamp {
                Some((lo, hi)) => v.max(lo).min(hi),
                None => v,
            };
        }
    }
}
