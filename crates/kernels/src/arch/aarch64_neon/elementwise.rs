//! Element-wise kernels: the portable loops of `elementwise` compiled with NEON (the aarch64 baseline, 4 lanes).

use crate::elementwise::{binary_loops, unary_loops, Binary, Operand, Unary};

/// See [`crate::elementwise::UnaryKernel`].
pub(super) unsafe fn unary(op: Unary, src: Option<&[f32]>, dst: &mut [f32]) {
    unary_loops(op, src, dst)
}

/// See [`crate::elementwise::BinaryKernel`].
pub(super) unsafe fn binary(op: Binary, a: Option<&[f32]>, b: Operand, dst: &mut [f32]) {
    binary_loops(op, a, b, dst)
}
