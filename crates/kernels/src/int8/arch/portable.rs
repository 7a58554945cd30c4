//! Plain-Rust bodies of the int8 kernels, `#[inline(always)]` so that each table compiles them
//! with its own target features (the AVX2 table gets them vectorized for 256-bit registers).
//! Contracts: see the types in `arch/mod.rs`.

use super::super::elementwise::AddParams;
use super::super::requant::{dequant_one, requant_one, RowParams};
use super::super::QElem;

/// Generic micro-kernel for an `M x N` tile.
#[inline(always)]
pub(crate) unsafe fn tile<const M: usize, const N: usize>(
    kp: usize,
    a: *const i16,
    b: *const i16,
    c: *mut i32,
) {
    let mut acc = [[0i32; N]; M];
    for p in 0..kp {
        // SAFETY: p < kp and the panels hold kp pairs of M (A) and N (B) entries.
        let (ap, bp) = unsafe {
            (
                &*(a.add(p * 2 * M) as *const [[i16; 2]; M]),
                &*(b.add(p * 2 * N) as *const [[i16; 2]; N]),
            )
        };
        for (row, w) in acc.iter_mut().zip(ap) {
            let (w0, w1) = (w[0] as i32, w[1] as i32);
            for (o, x) in row.iter_mut().zip(bp) {
                *o = o.wrapping_add(w0 * x[0] as i32 + w1 * x[1] as i32);
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

/// Activation panel packing (any strides).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn pack<T: QElem>(
    src: *const T,
    rs: usize,
    cs: usize,
    k: usize,
    cols: usize,
    zp: i32,
    dst: *mut i16,
    nr: usize,
) {
    let kp = k.div_ceil(2);
    // SAFETY: the caller guarantees `kp * nr * 2` writable i16 at dst.
    let out = unsafe { std::slice::from_raw_parts_mut(dst, kp * nr * 2) };
    out.fill(0);
    for p in 0..k {
        let (pair, half) = (p / 2, p % 2);
        let row = &mut out[pair * nr * 2..(pair + 1) * nr * 2];
        for j in 0..cols {
            // SAFETY: (p, j) is inside the view.
            let x = unsafe { *src.add(p * rs + j * cs) };
            row[2 * j + half] = (x.to_i32() - zp) as i16;
        }
    }
}

/// Stores a requantized row.
#[inline(always)]
pub(crate) unsafe fn store_q<T: QElem>(acc: &[i32], p: &RowParams, dst: *mut T, cs: usize) {
    if cs == 1 {
        // SAFETY: the caller guarantees `acc.len()` writable outputs.
        let out = unsafe { std::slice::from_raw_parts_mut(dst, acc.len()) };
        for (o, &a) in out.iter_mut().zip(acc) {
            *o = T::from_i32(requant_one(a, p));
        }
    } else {
        for (j, &a) in acc.iter().enumerate() {
            // SAFETY: as above, at stride cs.
            unsafe { *dst.add(j * cs) = T::from_i32(requant_one(a, p)) };
        }
    }
}

/// Stores raw accumulators plus bias.
#[inline(always)]
pub(crate) unsafe fn store_i32(acc: &[i32], p: &RowParams, dst: *mut i32, cs: usize) {
    for (j, &a) in acc.iter().enumerate() {
        // SAFETY: the caller guarantees `acc.len()` writable outputs at stride cs.
        unsafe { *dst.add(j * cs) = a.wrapping_add(p.bias) };
    }
}

/// Stores dequantized accumulators.
#[inline(always)]
pub(crate) unsafe fn store_f32(acc: &[i32], p: &RowParams, dst: *mut f32, cs: usize) {
    if cs == 1 {
        // SAFETY: the caller guarantees `acc.len()` writable outputs.
        let out = unsafe { std::slice::from_raw_parts_mut(dst, acc.len()) };
        for (o, &a) in out.iter_mut().zip(acc) {
            *o = dequant_one(a, p);
        }
    } else {
        for (j, &a) in acc.iter().enumerate() {
            // SAFETY: as above, at stride cs.
            unsafe { *dst.add(j * cs) = dequant_one(a, p) };
        }
    }
}

/// One depthwise 3x3 output row.
#[inline(always)]
pub(crate) unsafe fn depthwise_row(
    rows: [*const i16; 3],
    w: &[i32; 9],
    stride: usize,
    acc: &mut [i32],
) {
    let n = acc.len();
    if n == 0 {
        return;
    }
    acc.fill(0);
    let len = (n - 1) * stride + 3;
    for (r, &ptr) in rows.iter().enumerate() {
        // SAFETY: the caller guarantees `len` readable values per row.
        let row = unsafe { std::slice::from_raw_parts(ptr, len) };
        for t in 0..3 {
            let wt = w[3 * r + t];
            if stride == 1 {
                for (o, &x) in acc.iter_mut().zip(&row[t..t + n]) {
                    *o += wt * x as i32;
                }
            } else {
                for (o, a) in acc.iter_mut().enumerate() {
                    *a += wt * row[o * stride + t] as i32;
                }
            }
        }
    }
}

/// `out = saturate(round_half_even(x / scale) + zp)`, NaN giving the zero point.
#[inline(always)]
pub(crate) unsafe fn quantize<T: QElem>(x: &[f32], scale: f32, zp: i32, out: &mut [T]) {
    let (lo, hi) = (T::MIN - zp, T::MAX - zp);
    let (lo, hi) = (lo as f32, hi as f32);
    for (o, &v) in out.iter_mut().zip(x) {
        let q = v / scale;
        let q = if q.is_nan() {
            0.0
        } else {
            q.round_ties_even().max(lo).min(hi)
        };
        *o = T::from_i32(q as i32 + zp);
    }
}

/// `dst[i] = (src[i] ^ flip) - zp` as i16 (the `WidenKernel` contract).
#[inline(always)]
pub(crate) unsafe fn widen_row(src: *const u8, n: usize, flip: u8, zp: i32, dst: *mut i16) {
    // SAFETY: the caller guarantees n readable bytes and n writable i16.
    let (src, dst) = unsafe {
        (
            std::slice::from_raw_parts(src, n),
            std::slice::from_raw_parts_mut(dst, n),
        )
    };
    for (d, &v) in dst.iter_mut().zip(src) {
        *d = ((v ^ flip) as i32 - zp) as i16;
    }
}

/// `out = (x - zp) * scale`.
#[inline(always)]
pub(crate) unsafe fn dequantize<T: QElem>(x: &[T], scale: f32, zp: i32, out: &mut [f32]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = (v.to_i32() - zp) as f32 * scale;
    }
}

/// Quantized addition, element by element in f32 (see `AddParams`).
#[inline(always)]
pub(crate) unsafe fn add<T: QElem>(a: &[T], b: &[T], p: &AddParams, y: &mut [T]) {
    let (sa, za, sb, zb) = (p.a.scale, p.a.zero_point, p.b.scale, p.b.zero_point);
    let (sy, zy) = (p.y.scale, p.y.zero_point);
    for ((o, &x), &z) in y.iter_mut().zip(a).zip(b) {
        let v = (x.to_i32() - za) as f32 * sa + (z.to_i32() - zb) as f32 * sb;
        let q = (v / sy).round_ties_even().max(p.lo).min(p.hi);
        *o = T::from_i32(q as i32 + zy);
    }
}
