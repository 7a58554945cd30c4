//! AVX2 + FMA GEMM micro-kernel.
//!
//! 6x16 tile: 12 accumulator registers, 2 for the B row and 1 for the broadcast A value make 15
//! of the 16 ymm registers, and each k step issues 12 FMAs for 2 loads + 6 broadcasts, enough
//! to keep both FMA pipes busy. (8x8, 8 FMAs per 1 load + 8 broadcasts, measured slower here:
//! see BENCHMARKS.md.)

use std::arch::x86_64::*;

use super::act;
use crate::arch::{Epilogue, TileBias};
use crate::Activation;

/// Tile rows.
pub(crate) const MR: usize = 6;
/// Registers per tile row.
const NV: usize = 2;
/// Tile columns.
pub(crate) const NR: usize = NV * 8;

/// See [`crate::arch::MicroKernel`] for the contract.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn kernel(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    rsc: usize,
    epi: &Epilogue,
    tiles: usize,
) {
    for t in 0..tiles {
        // SAFETY: the caller guarantees `tiles` A panels, C row blocks and row-bias blocks;
        // the table only holds this kernel when AVX2 and FMA were detected.
        unsafe {
            let (at, ct) = (a.add(t * kc * MR), c.add(t * MR * rsc));
            tile::<MR, NV>(kc, at, b, ct, rsc, &epi.for_tile(t, MR))
        }
    }
}

/// The kernel for any `M x 8V` tile, so other tile shapes can be measured by changing `MR`/`NV`.
// Index loops over the const-sized register arrays read as the math; iterators add nothing.
#[allow(clippy::needless_range_loop)]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn tile<const M: usize, const V: usize>(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    rsc: usize,
    epi: &Epilogue,
) {
    let mut acc = [[_mm256_setzero_ps(); V]; M];
    for p in 0..kc {
        // SAFETY: p < kc, and the panels hold kc * M (A) and kc * 8V (B) floats.
        unsafe {
            let (ap, bp) = (a.add(p * M), b.add(p * 8 * V));
            let mut bv = [_mm256_setzero_ps(); V];
            for v in 0..V {
                bv[v] = _mm256_loadu_ps(bp.add(8 * v));
            }
            for i in 0..M {
                let ai = _mm256_broadcast_ss(&*ap.add(i));
                for v in 0..V {
                    acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
                }
            }
        }
    }

    // Epilogue on a copy, so that `acc` never has its address taken and stays in registers.
    let mut out = acc;
    let alpha = _mm256_set1_ps(epi.alpha);
    let beta = _mm256_set1_ps(epi.beta);
    for i in 0..M {
        for v in 0..V {
            // SAFETY: row i < M of C has 8V floats; the bias has M (row) or 8V (column) values.
            unsafe {
                let cp = c.add(i * rsc + 8 * v);
                let mut x = _mm256_mul_ps(out[i][v], alpha);
                if epi.beta != 0.0 {
                    x = _mm256_fmadd_ps(beta, _mm256_loadu_ps(cp), x);
                }
                match epi.bias {
                    TileBias::None => {}
                    TileBias::Row(p) => x = _mm256_add_ps(x, _mm256_set1_ps(*p.add(i))),
                    TileBias::Col(p) => x = _mm256_add_ps(x, _mm256_loadu_ps(p.add(8 * v))),
                }
                out[i][v] = x;
            }
        }
    }
    if epi.act != Activation::None {
        // SAFETY: called from a function with the same target features.
        unsafe { act::apply(out.as_flattened_mut(), epi.act) };
    }
    for i in 0..M {
        for v in 0..V {
            // SAFETY: as above.
            unsafe { _mm256_storeu_ps(c.add(i * rsc + 8 * v), out[i][v]) };
        }
    }
}
