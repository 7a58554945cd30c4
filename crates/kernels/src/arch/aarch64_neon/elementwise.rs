//! Element-wise kernels: the portable loops of `elementwise` compiled with NEON (the aarch64 baseline, 4 lanes).

use crate::elementwise::{binary_loops, unary_loops, Binary, Operand, Unary};
use crate::norm::{norm_row, Affine};
use crate::softmax::softmax_row;

/// See [`crate::elementwise::UnaryKernel`].
pub(super) unsafe fn unary(op: Unary, src: Option<&[f32]>, dst: &mut [f32]) {
    unary_loops(op, src, dst)
}

/// See [`crate::elementwise::BinaryKernel`].
pub(super) unsafe fn binary(op: Binary, a: Option<&[f32]>, b: Operand, dst: &mut [f32]) {
    binary_loops(op, a, b, dst)
}

/// See [`crate::softmax::SoftmaxKernel`].
pub(super) unsafe fn softmax(src: Option<&[f32]>, dst: &mut [f32], log: bool) {
    softmax_row(src, dst, log)
}

/// See [`crate::norm::NormKernel`].
pub(super) unsafe fn norm(src: &[f32], dst: &mut [f32], epsilon: f32, affine: Affine) {
    norm_row(src, dst, epsilon, affine)
}
