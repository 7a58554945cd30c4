//! NEON kernels for aarch64. NEON is part of the aarch64 baseline, so no detection is needed.

mod act;
mod conv;
mod elementwise;
mod gemv;
mod mmm;

use crate::{Blocking, Kernels};

pub(crate) fn plug(table: &mut Kernels) {
    table.name = "aarch64_neon";
    table.mr = mmm::MR;
    table.nr = mmm::NR;
    table.mmm = mmm::kernel;
    table.gemv_rows = gemv::rows;
    table.gemv_dots = gemv::dots;
    table.act = act::slice;
    table.depthwise = conv::depthwise;
    table.depthwise_block = conv::depthwise_block;
    table.pointwise = conv::pointwise;
    table.unary = elementwise::unary;
    table.binary = elementwise::binary;
    table.softmax = elementwise::softmax;
    table.norm = elementwise::norm;
    // Cortex-A class cores: 32-64 KiB L1d, 256 KiB-1 MiB L2. A kc x 8 B micro-panel is 8 KiB,
    // a 128 x 256 block of A 128 KiB.
    table.blocking = Blocking {
        mc: 128,
        kc: 256,
        nc: 2048,
    };
}
