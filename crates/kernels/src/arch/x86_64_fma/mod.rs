//! AVX2 + FMA kernels for x86-64, installed when the CPU reports both features.

pub(super) mod act;
pub(crate) mod conv;
mod elementwise;
mod gemv;
mod mmm;

use crate::{Blocking, Kernels};

/// Installs the AVX2+FMA kernels; false (table untouched) when the CPU lacks them.
pub(crate) fn plug(table: &mut Kernels) -> bool {
    if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
        return false;
    }
    table.name = "x86_64_fma";
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
    // A kc x 16 B micro-panel is 16 KiB (L1 is 32-48 KiB) and a 168 x 256 A block 168 KiB.
    // BLIS takes nc = 4080 to keep the B block in L3; nc = 512 (512 KiB) keeps it in L2 on
    // cores with >= 1 MiB of it and costs only more repacking of A (1 / (2 nc) of the flops).
    // Measured 1.2-1.4x faster on M64 N3136 K576, where packing B is a large share of the work.
    table.blocking = Blocking {
        mc: 168,
        kc: 256,
        nc: 512,
    };
    true
}
