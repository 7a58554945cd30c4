//! Convolution kernels: the portable loops of `conv` with fused multiply-adds (NEON `fmla`,
//! which the compiler vectorizes 4 lanes wide: NEON is the aarch64 baseline).

use crate::conv::{depthwise_plane, DepthwisePlane, PortableBlock};

/// See [`crate::conv::DepthwiseKernel`].
pub(super) unsafe fn depthwise(p: &DepthwisePlane, x: &[f32], w: &[f32], out: &mut [f32]) {
    // SAFETY: forwarded contract; NEON is always present on aarch64.
    unsafe { depthwise_plane::<true, PortableBlock<true>>(p, x, w, out) }
}
