//! Convolution kernels: the portable loops of `conv` with fused multiply-adds (NEON `fmla`,
//! which the compiler vectorizes 4 lanes wide: NEON is the aarch64 baseline).

use crate::conv::{
    depthwise_blocked, depthwise_plane, pointwise_pixels, DepthwiseChannels, DepthwisePlane,
    PointwiseJob, PointwiseOut, PortableBlock, PortableLanes,
};

/// See [`crate::conv::DepthwiseBlockKernel`].
pub(super) unsafe fn depthwise_block(
    p: &DepthwiseChannels,
    x: &[f32],
    out: &mut [f32],
    buf: &mut [f32],
) {
    // SAFETY: forwarded contract; NEON is always present on aarch64.
    unsafe { depthwise_blocked::<PortableLanes<true>>(p, x, out, buf) }
}

/// See [`crate::conv::DepthwiseKernel`].
pub(super) unsafe fn depthwise(
    p: &DepthwisePlane,
    x: &[f32],
    w: &[f32],
    out: &mut [f32],
    buf: &mut [f32],
) {
    // SAFETY: forwarded contract; NEON is always present on aarch64.
    unsafe {
        depthwise_plane::<true, PortableBlock<true>, PortableLanes<true>, PortableLanes<true>>(
            p, x, w, out, buf,
        )
    }
}

/// See [`crate::conv::PointwiseKernel`]: the portable loops with fused multiply-adds.
pub(super) unsafe fn pointwise(job: &PointwiseJob, out: PointwiseOut, p0: usize, p1: usize) {
    // SAFETY: forwarded contract; this function has the features the loops are built for.
    unsafe { pointwise_pixels::<true>(job, out, p0, p1) }
}
