//! The blocked sparse x dense product every implementation shares:
//! `Y[M x n] = clamp(W[M x K] * X[K x n] + bias)`.
//!
//! Columns of X and Y are walked in blocks of up to `MAX_VECS` vectors (the accumulators of
//! one output row stay in registers over the row's nonzeros), and the nonzeros in groups of
//! [`KBLOCK`]-column blocks whose slice of X fits the L1 cache: with a whole 14x14 or 7x7
//! image per row of X, every nonzero would otherwise reload its row from L2. A group after
//! the first adds to the partial sums it finds in Y. When `n` is not a whole number of
//! vectors, each block of X is first copied into a zero-padded, 64-byte-aligned panel, so
//! every load is a full aligned vector and only the stores of the last vector are masked.

use super::csr::{CsrMatrix, KBLOCK};

/// Bytes of X one group of column blocks may span per column block (the L1 data cache is
/// 48 KiB on the Xeon here, 32 KiB on most cores; Y's rows and the weights pass through too).
const PANEL_BYTES: usize = 32 * 1024;

/// Nonzeros per input channel from which a partial-vector X is copied into the panel even
/// when the pass could mask its loads.
const PACK_REUSE: usize = 20;

/// One pass over every output row: columns `0..width` of Y (row `r` at `dst + r * ldy`), the
/// nonzeros in column blocks `blocks.0..blocks.1`.
pub(super) struct Pass<'a> {
    pub w: &'a CsrMatrix,
    /// Row `c` of X starts at `src + c * pitch`; `width` rounded up to whole vectors is
    /// readable from every row.
    pub src: *const f32,
    pub pitch: usize,
    pub dst: *mut f32,
    pub ldy: usize,
    pub width: usize,
    /// Only `width` columns of each row of X are readable (the last vector's loads must be
    /// masked); else `width` rounded up to whole vectors.
    pub masked: bool,
    pub blocks: (usize, usize),
    /// Start from the bias (or zero) when set, else add to the partial sums in Y.
    pub first: bool,
    pub bias: Option<&'a [f32]>,
    /// `(lo, hi)`: `min(max(y, lo), hi)` before the store (the last group only).
    pub clamp: Option<(f32, f32)>,
}

/// One implementation's pass.
pub(super) trait PassKernel {
    /// f32 lanes per vector.
    const LANES: usize;
    /// Vectors of columns per pass (accumulators per output row).
    const MAX_VECS: usize;
    /// Whether the pass masks the loads of a partial last vector (`Pass::masked`), so X can
    /// be read in place whatever `n`.
    const MASKED_LOADS: bool;
    /// Runs `p`, `1 <= p.width <= LANES * MAX_VECS`.
    ///
    /// Safety: the implementation's CPU features are present; `p` describes readable rows of
    /// X for every column index of W and writable rows of Y for every row of W; a bias has
    /// one value per row of W.
    unsafe fn run(p: &Pass);
}

/// Floats one vector of the widest implementation holds: an aligned panel starts at most
/// `ALIGN_PAD` floats into a scratch slice.
pub(super) const ALIGN_PAD: usize = 15;

/// Columns of X one pass reads at most, over every implementation (AVX2 and AVX-512: 8 vectors
/// of 8 or 16 lanes; portable: 4 of 8).
const MAX_BLOCK_COLS: usize = 128;

/// Floats of scratch [`spmm`] needs for a `K x n` X on any implementation: the zero-padded
/// panel one block of columns is copied into (the widest block, all K rows) plus the floats
/// that align it to 64 bytes.
pub(super) fn scratch_len(k: usize, n: usize) -> usize {
    k * MAX_BLOCK_COLS.min(n.next_multiple_of(16)) + ALIGN_PAD
}

/// The first `len` floats of `scratch` from its first 64-byte boundary (whole cache lines:
/// no vector load splits one); `scratch` holds at least `len + ALIGN_PAD` floats.
pub(super) fn aligned(scratch: &mut [f32], len: usize) -> &mut [f32] {
    if len == 0 {
        return &mut [];
    }
    let skip = scratch.as_ptr().align_offset(64).min(ALIGN_PAD);
    &mut scratch[skip..][..len]
}

/// `y = clamp(w * x + bias)` (`x` `K x n`, `y` `M x n`, extents checked by the caller), the
/// panel in `scratch` (at least [`scratch_len`] floats, contents unspecified).
///
/// Safety: `P`'s CPU features are present.
pub(super) unsafe fn spmm<P: PassKernel>(
    w: &CsrMatrix,
    x: &[f32],
    n: usize,
    y: &mut [f32],
    bias: Option<&[f32]>,
    clamp: Option<(f32, f32)>,
    scratch: &mut [f32],
) {
    let (m, k) = (w.rows(), w.cols());
    if m == 0 || n == 0 {
        return;
    }
    let lanes = P::LANES;
    let block_cols = P::MAX_VECS * lanes;
    // Copying X into the aligned panel costs about one load and store per element; it pays
    // when every row of X is read by many nonzeros (misaligned rows split most vector loads
    // across two cache lines). AVX-512, 2026-11-24: 14x14 with 25-50 nonzeros per input
    // channel 20% faster through the panel, 7x7 with 8-16 of them 15-40% slower.
    let reuse = w.nnz() / k.max(1);
    let direct = n.is_multiple_of(lanes) || (P::MASKED_LOADS && reuse < PACK_REUSE);
    let widest = block_cols.min(n.next_multiple_of(lanes));
    let group = (PANEL_BYTES / (KBLOCK * widest * 4)).max(1);
    let blocks = w.blocks();
    let panel = aligned(scratch, if direct { 0 } else { k * widest });
    let mut j0 = 0;
    while j0 < n {
        let width = block_cols.min(n - j0);
        let padded = width.next_multiple_of(lanes);
        let (src, pitch) = if direct {
            (x[j0..].as_ptr(), n)
        } else {
            let p = &mut panel[..k * padded];
            for (c, row) in p.chunks_exact_mut(padded).enumerate() {
                row[..width].copy_from_slice(&x[c * n + j0..][..width]);
                row[width..].fill(0.0);
            }
            (p.as_ptr(), padded)
        };
        let mut b0 = 0;
        loop {
            let b1 = (b0 + group).min(blocks);
            let pass = Pass {
                w,
                src,
                pitch,
                dst: y[j0..].as_mut_ptr(),
                ldy: n,
                width,
                masked: direct && !width.is_multiple_of(lanes),
                blocks: (b0, b1),
                first: b0 == 0,
                bias,
                clamp: if b1 == blocks { clamp } else { None },
            };
            // SAFETY: rows of X are `pitch` apart from `src` with `padded` readable columns
            // (a direct row of X has n - j0 >= padded columns left when n is whole vectors,
            // else `width` and the pass masks), rows of Y n apart with `width` columns left.
            unsafe { P::run(&pass) };
            b0 = b1;
            if b0 >= blocks {
                break;
            }
        }
        j0 += width;
    }
}

/// Accumulator sets (independent FMA chains per vector) for `vecs` vectors: enough chains to
/// cover the FMA latency (4 cycles, 2 per cycle) without running out of registers.
pub(super) const fn sets(vecs: usize) -> usize {
    match vecs {
        1 => 8,
        2 => 4,
        3 | 4 => 2,
        _ => 1,
    }
}
