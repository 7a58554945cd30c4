//! The portable int8 table: the twin of every arch-specific kernel and the fallback.

use super::super::elementwise::AddParams;
use super::super::requant::RowParams;
use super::super::{Int8Kernels, QElem};
use super::{portable, QuantKernels, StoreKernels};

const MR: usize = 4;
const NR: usize = 8;

pub(crate) fn table() -> Int8Kernels {
    Int8Kernels {
        name: "generic",
        mr: MR,
        nr: NR,
        tile,
        pack_u8: pack::<u8>,
        pack_i8: pack::<i8>,
        store: StoreKernels {
            u8: store_q::<u8>,
            i8: store_q::<i8>,
            i32: store_i32,
            f32: store_f32,
        },
        depthwise_row,
        widen_row,
        quant: QuantKernels {
            quantize_u8: quantize::<u8>,
            quantize_i8: quantize::<i8>,
            dequantize_u8: dequantize::<u8>,
            dequantize_i8: dequantize::<i8>,
            add_u8: add::<u8>,
            add_i8: add::<i8>,
        },
        dot: None,
    }
}

// Safety of everything below: the contracts of `arch/mod.rs`; no CPU features needed.

unsafe fn tile(kp: usize, a: *const i16, b: *const i16, c: *mut i32) {
    unsafe { portable::tile::<MR, NR>(kp, a, b, c) }
}

#[allow(clippy::too_many_arguments)]
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
    unsafe { portable::pack(src, rs, cs, k, cols, zp, dst, nr) }
}

pub(crate) unsafe fn store_q<T: QElem>(acc: &[i32], p: &RowParams, dst: *mut T, cs: usize) {
    unsafe { portable::store_q(acc, p, dst, cs) }
}

pub(crate) unsafe fn store_i32(acc: &[i32], p: &RowParams, dst: *mut i32, cs: usize) {
    unsafe { portable::store_i32(acc, p, dst, cs) }
}

pub(crate) unsafe fn store_f32(acc: &[i32], p: &RowParams, dst: *mut f32, cs: usize) {
    unsafe { portable::store_f32(acc, p, dst, cs) }
}

pub(crate) unsafe fn depthwise_row(rows: [*const i16; 3], w: &[i32; 9], s: usize, acc: &mut [i32]) {
    unsafe { portable::depthwise_row(rows, w, s, acc) }
}

unsafe fn widen_row(src: *const u8, n: usize, flip: u8, zp: i32, dst: *mut i16) {
    unsafe { portable::widen_row(src, n, flip, zp, dst) }
}

pub(crate) unsafe fn quantize<T: QElem>(x: &[f32], scale: f32, zp: i32, out: &mut [T]) {
    unsafe { portable::quantize(x, scale, zp, out) }
}

pub(crate) unsafe fn dequantize<T: QElem>(x: &[T], scale: f32, zp: i32, out: &mut [f32]) {
    unsafe { portable::dequantize(x, scale, zp, out) }
}

unsafe fn add<T: QElem>(a: &[T], b: &[T], p: &AddParams, y: &mut [T]) {
    unsafe { portable::add(a, b, p, y) }
}
