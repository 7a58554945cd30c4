//! AVX-512F kernels for x86-64: the GEMM micro-kernel (and so every product built on it:
//! packed A and B, im2col, pointwise and Winograd convolutions) on 16-lane zmm registers.
//! Installed over the AVX2+FMA table when the CPU also reports AVX-512F; the entries this
//! module does not override (element-wise, depthwise, GEMV) stay AVX2.

mod mmm;

use crate::arch::{MicroKernel, PrefetchKernel};
use crate::{Blocking, Kernels};

/// Whether this CPU runs the AVX-512F kernels (the AVX2+FMA ones are checked by the caller).
fn detected() -> bool {
    is_x86_feature_detected!("avx512f")
}

/// The AVX-512 table built over `fma` (the AVX2+FMA table), or `None` without AVX-512F.
pub(crate) fn table(fma: &Kernels) -> Option<Kernels> {
    detected().then(|| with_tile(fma, "x86_64_avx512", TILE))
}

/// A register tile: rows, 16-lane registers per row, its kernel and its cache blocking.
#[derive(Clone, Copy)]
pub(crate) struct Tile {
    mr: usize,
    nv: usize,
    kernel: MicroKernel,
    /// The same tile prefetching the next B panel (none for the measurement variants).
    prefetch: Option<PrefetchKernel>,
    blocking: Blocking,
}

/// The shipped tile (see BENCHMARKS.md for the measurements that chose it).
const TILE: Tile = Tile {
    mr: 12,
    nv: 2,
    kernel: mmm::kernel::<12, 2>,
    prefetch: Some(mmm::kernel_prefetch::<12, 2>),
    // A kc x 32 B micro-panel is 32 KiB at kc = 256 (L1d is 48 KiB); a 120 x 256 A block is
    // 120 KiB and the 256 x 512 B block 512 KiB, both in the 1.25 MiB L2.
    blocking: Blocking {
        mc: 120,
        kc: 256,
        nc: 512,
    },
};

/// The 8x48 tile: 3 B loads and 8 broadcasts per 24 FMAs (12x32 needs 2 + 12), measured
/// 1.1-1.4x 12x32 on im2col-shaped products whose rows are a multiple of 8 (BENCHMARKS.md),
/// but it wastes a third of each panel where the columns are 64 (Winograd's products with 64
/// output channels), so convolutions pick it per shape (`conv::pick_table`).
const WIDE: Tile = Tile {
    mr: 8,
    nv: 3,
    kernel: mmm::kernel::<8, 3>,
    prefetch: Some(mmm::kernel_prefetch::<8, 3>),
    // kc x 48 B micro-panel: 36 KiB at kc = 192 (L1d is 48 KiB); 128 x 192 A block 96 KiB.
    blocking: Blocking {
        mc: 128,
        kc: 192,
        nc: 480,
    },
};

/// The AVX-512 table `avx512` with the [`WIDE`] register tile (same entries otherwise).
pub(crate) fn wide(avx512: &Kernels) -> Kernels {
    with_tile(avx512, "x86_64_avx512_8x48", WIDE)
}

fn with_tile(base: &Kernels, name: &'static str, tile: Tile) -> Kernels {
    Kernels {
        name,
        mr: tile.mr,
        nr: 16 * tile.nv,
        mmm: tile.kernel,
        mmm_prefetch: tile.prefetch,
        blocking: tile.blocking,
        winograd: crate::conv::winograd_x86::AVX512,
        ..base.clone()
    }
}

/// Other tile shapes, for the tile measurements of `benches/gemm.rs -- --tiles` (empty
/// without AVX-512F).
pub(crate) fn tile_variants(fma: &Kernels) -> Vec<Kernels> {
    if !detected() {
        return Vec::new();
    }
    let tile = |mr: usize, nv: usize, kernel: MicroKernel| Tile {
        mr,
        nv,
        kernel,
        prefetch: None,
        blocking: Blocking {
            mc: mr * (128 / mr),
            kc: 256,
            nc: 16 * nv * (512 / (16 * nv)),
        },
    };
    vec![
        with_tile(fma, "avx512 12x32", tile(12, 2, mmm::kernel::<12, 2>)),
        with_tile(fma, "avx512 14x32", tile(14, 2, mmm::kernel::<14, 2>)),
        with_tile(fma, "avx512 8x48", tile(8, 3, mmm::kernel::<8, 3>)),
        with_tile(fma, "avx512 8x32", tile(8, 2, mmm::kernel::<8, 2>)),
        with_tile(fma, "avx512 6x64", tile(6, 4, mmm::kernel::<6, 4>)),
        with_tile(fma, "avx512 7x48", tile(7, 3, mmm::kernel::<7, 3>)),
    ]
}
