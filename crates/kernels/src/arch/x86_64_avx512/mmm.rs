//! AVX-512F GEMM micro-kernel.
//!
//! The tile is `M x 16V` in 32 zmm registers: `M * V` accumulators, `V` for the row of B; the
//! A value is broadcast straight from memory into each FMA (`{1to16}` embedded broadcast), so
//! it needs no register. The shipped shape is chosen in `mod.rs` from measurements.

use std::arch::x86_64::*;

use crate::arch::x86_64_fma::act;
use crate::arch::{Epilogue, TileBias};
use crate::Activation;

/// The kernel for the `M x 16V` tile; see [`crate::arch::MicroKernel`] for the contract.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn kernel<const M: usize, const V: usize>(
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
        // the table only holds this kernel when AVX-512F, AVX2 and FMA were detected.
        unsafe {
            let (at, ct) = (a.add(t * kc * M), c.add(t * M * rsc));
            tile::<M, V, false>(kc, at, b, ct, rsc, &epi.for_tile(t, M), std::ptr::null())
        }
    }
}

/// [`kernel`] that prefetches `kc * 16V` floats from `next` into L2 while it computes the
/// first tile (one line per register of B per k step); see [`crate::arch::PrefetchKernel`]
/// (`next` need not point into an allocation: its addresses are only prefetched).
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn kernel_prefetch<const M: usize, const V: usize>(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    rsc: usize,
    epi: &Epilogue,
    tiles: usize,
    next: *const f32,
) {
    for t in 0..tiles {
        // SAFETY: as in `kernel`; `next` is only prefetched.
        unsafe {
            let (at, ct) = (a.add(t * kc * M), c.add(t * M * rsc));
            let epi = epi.for_tile(t, M);
            if t == 0 {
                tile::<M, V, true>(kc, at, b, ct, rsc, &epi, next)
            } else {
                tile::<M, V, false>(kc, at, b, ct, rsc, &epi, next)
            }
        }
    }
}

// Index loops over the const-sized register arrays read as the math; iterators add nothing.
#[allow(clippy::needless_range_loop)]
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
unsafe fn tile<const M: usize, const V: usize, const PREFETCH: bool>(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    rsc: usize,
    epi: &Epilogue,
    next: *const f32,
) {
    let mut acc = [[_mm512_setzero_ps(); V]; M];
    for p in 0..kc {
        // SAFETY: p < kc, and the panels hold kc * M (A) and kc * 16V (B) floats.
        unsafe {
            let (ap, bp) = (a.add(p * M), b.add(p * 16 * V));
            let mut bv = [_mm512_setzero_ps(); V];
            for v in 0..V {
                bv[v] = _mm512_loadu_ps(bp.add(16 * v));
            }
            if PREFETCH {
                for v in 0..V {
                    let line = next.wrapping_add(p * 16 * V + 16 * v);
                    _mm_prefetch::<_MM_HINT_T1>(line.cast());
                }
            }
            for i in 0..M {
                let ai = _mm512_set1_ps(*ap.add(i));
                for v in 0..V {
                    acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
                }
            }
        }
    }

    // Epilogue on a copy, so that `acc` never has its address taken and stays in registers.
    let mut out = acc;
    let alpha = _mm512_set1_ps(epi.alpha);
    let beta = _mm512_set1_ps(epi.beta);
    for i in 0..M {
        for v in 0..V {
            // SAFETY: row i < M of C has 16V floats; the bias has M (row) or 16V (column) values.
            unsafe {
                let cp = c.add(i * rsc + 16 * v);
                let mut x = if epi.alpha == 1.0 {
                    out[i][v]
                } else {
                    _mm512_mul_ps(out[i][v], alpha)
                };
                if epi.beta != 0.0 {
                    x = _mm512_fmadd_ps(beta, _mm512_loadu_ps(cp), x);
                }
                match epi.bias {
                    TileBias::None => {}
                    TileBias::Row(p) => x = _mm512_add_ps(x, _mm512_set1_ps(*p.add(i))),
                    TileBias::Col(p) => x = _mm512_add_ps(x, _mm512_loadu_ps(p.add(16 * v))),
                }
                out[i][v] = x;
            }
        }
    }
    match epi.act {
        Activation::None => {}
        Activation::Relu => {
            let zero = _mm512_setzero_ps();
            for x in out.as_flattened_mut() {
                *x = _mm512_max_ps(*x, zero);
            }
        }
        Activation::Clip { min, max } => {
            let (lo, hi) = (_mm512_set1_ps(min), _mm512_set1_ps(max));
            for x in out.as_flattened_mut() {
                *x = _mm512_min_ps(_mm512_max_ps(*x, lo), hi);
            }
        }
        other => {
            // The rarer activations reuse the 8-lane code on the two halves of each register.
            let flat = out.as_flattened_mut();
            // SAFETY: a __m512 is two __m256 in memory; same target features as the caller.
            unsafe {
                let halves =
                    std::slice::from_raw_parts_mut(flat.as_mut_ptr().cast::<__m256>(), 2 * M * V);
                act::apply(halves, other);
            }
        }
    }
    for i in 0..M {
        for v in 0..V {
            // SAFETY: as above.
            unsafe { _mm512_storeu_ps(c.add(i * rsc + 16 * v), out[i][v]) };
        }
    }
}
