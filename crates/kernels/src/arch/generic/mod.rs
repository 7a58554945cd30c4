//! The portable table: plain Rust written so that the compiler vectorizes it for the baseline
//! target (SSE2 on x86-64, NEON on aarch64). It is the twin of every arch-specific kernel and
//! the fallback on CPUs without them.

mod gemv;
mod mmm;

use crate::{Activation, Blocking, Kernels};

pub(crate) fn table() -> Kernels {
    Kernels {
        name: "generic",
        mr: mmm::MR,
        nr: mmm::NR,
        mmm: mmm::kernel,
        gemv_rows: gemv::rows,
        gemv_dots: gemv::dots,
        act: act_slice,
        depthwise: crate::conv::depthwise_generic,
        depthwise_block: crate::conv::depthwise_blocked_generic,
        pointwise: crate::conv::pointwise_generic,
        winograd: crate::conv::WINOGRAD_GENERIC,
        unary: crate::elementwise::unary_generic,
        binary: crate::elementwise::binary_generic,
        softmax: crate::softmax::softmax_generic,
        norm: crate::norm::norm_generic,
        // A 4x8 tile with kc = 256 keeps a B micro-panel (8 KiB) in L1 and an mc x kc block of
        // A (128 KiB) well inside L2.
        blocking: Blocking {
            mc: 128,
            kc: 256,
            nc: 4096,
        },
        min_flops_per_thread: 4_000_000,
        mmm_prefetch: None,
    }
}

/// Safety: none needed (plain Rust); `unsafe` only to share the table's pointer type.
unsafe fn act_slice(xs: &mut [f32], act: Activation) {
    if act == Activation::None {
        return;
    }
    for x in xs {
        *x = act.apply(*x);
    }
}
