//! Element-wise kernels: the portable loops of `elementwise` compiled with AVX2 + FMA.

use crate::elementwise::{binary_loops, unary_loops, Binary, Operand, Unary};

/// See [`crate::elementwise::UnaryKernel`].
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn unary(op: Unary, src: Option<&[f32]>, dst: &mut [f32]) {
    unary_loops(op, src, dst)
}

/// See [`crate::elementwise::BinaryKernel`].
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn binary(op: Binary, a: Option<&[f32]>, b: Operand, dst: &mut [f32]) {
    binary_loops(op, a, b, dst)
}
