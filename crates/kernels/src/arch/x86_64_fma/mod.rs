//! AVX2 + FMA kernels for x86-64, installed when the CPU reports both features.

mod act;
mod gemv;
mod mmm;

use crate::{Blocking, Kernels};

pub(crate) fn plug(table: &mut Kernels) {
    if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
        return;
    }
    table.name = "x86_64_fma";
    table.mr = mmm::MR;
    table.nr = mmm::NR;
    table.mmm = mmm::kernel;
    table.gemv_rows = gemv::rows;
    table.gemv_dots = gemv::dots;
    table.act = act::slice;
    // BLIS's Haswell/Zen sgemm blocking for a 6x16 tile: a kc x 16 B micro-panel is 16 KiB
    // (L1 is 32-48 KiB), a 168 x 256 A block 168 KiB (L2 >= 512 KiB), B blocks stream from L3.
    table.blocking = Blocking {
        mc: 168,
        kc: 256,
        nc: 4080,
    };
}
