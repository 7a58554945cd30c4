//! Plain-Rust bodies of the dot-product (quads layout) kernels, `#[inline(always)]` so that a
//! table compiles them with its own target features, and `generic_dot`: the portable table that
//! uses them, the twin that tests the quads driver (zero-point sums) on every CPU.
//! Contracts: see the types in `arch/mod.rs`.

use super::super::Int8Kernels;
use super::{generic, DotKernels};

const MR: usize = 4;
const NR: usize = 8;

pub(crate) fn table() -> Int8Kernels {
    Int8Kernels {
        name: "generic_dot",
        mr: MR,
        nr: NR,
        dot: Some(DotKernels {
            tile: tile_generic,
            tile_u8: None,
            pack: pack_generic,
            pack_rows: pack_rows_generic,
            gemv: gemv_generic,
        }),
        ..generic::table()
    }
}

// Safety of these three: the contracts of `arch/mod.rs`; no CPU features needed.

unsafe fn tile_generic(kq: usize, a: *const i8, b: *const u8, c: *mut i32) {
    unsafe { tile::<MR, NR>(kq, a, b, c) }
}

#[allow(clippy::too_many_arguments)]
unsafe fn pack_generic(
    src: *const u8,
    rs: usize,
    cs: usize,
    k: usize,
    cols: usize,
    flip: u8,
    dst: *mut u8,
    nr: usize,
) {
    unsafe { pack(src, rs, cs, k, cols, flip, dst, nr) }
}

unsafe fn pack_rows_generic(
    base: *const u8,
    offs: *const usize,
    k: usize,
    cols: usize,
    flip: u8,
    dst: *mut u8,
    nr: usize,
) {
    unsafe { pack_rows(base, offs, k, cols, flip, dst, nr) }
}

unsafe fn gemv_generic(kq: usize, a: *const i8, x: *const u8, out: *mut i32) {
    unsafe { gemv::<MR>(kq, a, x, out) }
}

/// Generic dot micro-kernel for an `M x N` tile.
#[inline(always)]
pub(crate) unsafe fn tile<const M: usize, const N: usize>(
    kq: usize,
    a: *const i8,
    b: *const u8,
    c: *mut i32,
) {
    let mut acc = [[0i32; N]; M];
    for q in 0..kq {
        // SAFETY: q < kq and the panels hold kq quads of M (a) and N (b) entries.
        let (aq, bq) = unsafe {
            (
                &*(a.add(q * 4 * M) as *const [[i8; 4]; M]),
                &*(b.add(q * 4 * N) as *const [[u8; 4]; N]),
            )
        };
        for (row, w) in acc.iter_mut().zip(aq) {
            for (o, x) in row.iter_mut().zip(bq) {
                let d: i32 = (0..4).map(|t| w[t] as i32 * x[t] as i32).sum();
                *o = o.wrapping_add(d);
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            // SAFETY: the tile has M x N entries.
            unsafe { *c.add(i * N + j) = *v };
        }
    }
}

/// Activation panel packing into quads (any strides).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn pack(
    src: *const u8,
    rs: usize,
    cs: usize,
    k: usize,
    cols: usize,
    flip: u8,
    dst: *mut u8,
    nr: usize,
) {
    let kq = k.div_ceil(4);
    // SAFETY: the caller guarantees `kq * nr * 4` writable bytes at dst.
    let out = unsafe { std::slice::from_raw_parts_mut(dst, kq * nr * 4) };
    if rs == 1 {
        // Columns are contiguous runs of depth (a transposed view): copy quads whole.
        for j in 0..cols {
            for p in 0..k {
                // SAFETY: (p, j) is inside the view.
                out[(p / 4) * nr * 4 + j * 4 + p % 4] = unsafe { *src.add(p + j * cs) } ^ flip;
            }
            for p in k..kq * 4 {
                out[(p / 4) * nr * 4 + j * 4 + p % 4] = 0;
            }
        }
        for q in 0..kq {
            out[q * nr * 4 + cols * 4..(q + 1) * nr * 4].fill(0);
        }
        return;
    }
    out.fill(0);
    for p in 0..k {
        let quad = &mut out[(p / 4) * nr * 4..(p / 4 + 1) * nr * 4];
        for j in 0..cols {
            // SAFETY: (p, j) is inside the view.
            quad[4 * j + p % 4] = unsafe { *src.add(p * rs + j * cs) } ^ flip;
        }
    }
}

/// Activation panel packing into quads from row pointers (see `DotPackRowsKernel`).
#[inline(always)]
pub(crate) unsafe fn pack_rows(
    base: *const u8,
    offs: *const usize,
    k: usize,
    cols: usize,
    flip: u8,
    dst: *mut u8,
    nr: usize,
) {
    let kq = k.div_ceil(4);
    // SAFETY: the caller guarantees `kq * nr * 4` writable bytes at dst and `k` offsets.
    let (out, offs) = unsafe {
        (
            std::slice::from_raw_parts_mut(dst, kq * nr * 4),
            std::slice::from_raw_parts(offs, k),
        )
    };
    out.fill(0);
    for (p, &off) in offs.iter().enumerate() {
        let quad = &mut out[(p / 4) * nr * 4..(p / 4 + 1) * nr * 4];
        for j in 0..cols {
            // SAFETY: the row's first `cols` bytes are readable.
            quad[4 * j + p % 4] = unsafe { *base.add(off + j) } ^ flip;
        }
    }
}

/// Matrix-vector product over one panel of `M` rows.
#[inline(always)]
pub(crate) unsafe fn gemv<const M: usize>(kq: usize, a: *const i8, x: *const u8, out: *mut i32) {
    let mut acc = [0i32; M];
    for q in 0..kq {
        // SAFETY: q < kq; the panel holds kq quads of M rows, x holds kq quads.
        let (aq, xq) = unsafe {
            (
                &*(a.add(q * 4 * M) as *const [[i8; 4]; M]),
                &*(x.add(q * 4) as *const [u8; 4]),
            )
        };
        for (o, w) in acc.iter_mut().zip(aq) {
            let d: i32 = (0..4).map(|t| w[t] as i32 * xq[t] as i32).sum();
            *o = o.wrapping_add(d);
        }
    }
    for (i, v) in acc.iter().enumerate() {
        // SAFETY: out has M entries.
        unsafe { *out.add(i) = *v };
    }
}
