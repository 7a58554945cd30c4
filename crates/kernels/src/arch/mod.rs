//! Per-instruction-set kernels and the contracts they share.
//!
//! `generic` builds the full portable table; each other module has a `plug` that overrides
//! entries once it has checked (or knows, for NEON on aarch64) that the CPU supports them.
//! Every kernel here is an `unsafe fn` over raw pointers: the GEMM driver guarantees the
//! extents stated in each type's contract, and `Kernels` guarantees the CPU features.

use crate::{Activation, Kernels};

pub(crate) mod generic;

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86_64_fma;

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86_64_avx512;

#[cfg(target_arch = "aarch64")]
pub(crate) mod aarch64_neon;

/// Bias of one output tile, already offset to the tile's first row or column.
#[derive(Clone, Copy)]
pub(crate) enum TileBias {
    None,
    /// `mr` readable values, one per tile row.
    Row(*const f32),
    /// `nr` readable values, one per tile column.
    Col(*const f32),
}

/// What the micro-kernel does with its accumulator `acc` before storing it:
/// `c = act(alpha * acc + beta * c + bias)`, where C is not read at all when `beta == 0`
/// (so C may hold garbage, NaN included, as in BLAS).
#[derive(Clone, Copy)]
pub(crate) struct Epilogue {
    pub alpha: f32,
    pub beta: f32,
    pub bias: TileBias,
    pub act: Activation,
}

/// GEMM micro-kernel `(kc, a, b, c, rsc, epilogue, tiles)`: computes the `mr x nr` tile
/// `acc[i][j] = sum_{p < kc} a[p * mr + i] * b[p * nr + j]` from packed panels and stores it to
/// `c[i * rsc + j]` through the epilogue; then the same for `tiles - 1` more tiles below it,
/// tile `t` reading the A panel at `a + t * kc * mr`, writing C from row `t * mr` and taking a
/// row bias from `t * mr` (one call per column of tiles keeps the call overhead off short Ks).
///
/// Safety: `a` has `tiles * kc * mr` readable floats, `b` has `kc * nr`, `c` has `tiles * mr`
/// rows of `nr` writable (and, if `beta != 0`, readable) floats at row stride `rsc`, a row bias
/// has `tiles * mr` values and a column bias `nr`, and the CPU has the kernel's features.
pub(crate) type MicroKernel =
    unsafe fn(usize, *const f32, *const f32, *mut f32, usize, &Epilogue, usize);

/// [`MicroKernel`] that also prefetches (into L2) the `kc * nr` floats at its last argument
/// while it computes the first tile: the next B micro-panel, when B streams from memory and
/// each panel serves only a few tiles (the transposed convolution's weights). Same contract;
/// the prefetched address need not be valid (a prefetch never faults and reads nothing).
pub(crate) type PrefetchKernel =
    unsafe fn(usize, *const f32, *const f32, *mut f32, usize, &Epilogue, usize, *const f32);

impl Epilogue {
    /// The epilogue of tile `t` of a column of tiles `mr` rows high (advances a row bias).
    ///
    /// Safety: a row bias has more than `t * mr` values.
    #[inline]
    pub(crate) unsafe fn for_tile(&self, t: usize, mr: usize) -> Epilogue {
        let bias = match self.bias {
            // SAFETY: the caller guarantees the row bias extent.
            TileBias::Row(p) => TileBias::Row(unsafe { p.add(t * mr) }),
            other => other,
        };
        Epilogue { bias, ..*self }
    }
}

/// GEMV kernel `(k, n, x, b, ldb, y)`, overwriting `y[0..n]`, in one of two layouts:
/// - rows: `y[j] = sum_{p < k} x[p] * b[p * ldb + j]` (B's rows are contiguous),
/// - dots: `y[j] = sum_{p < k} x[p] * b[j * ldb + p]` (B's columns are contiguous).
///
/// Safety: `x` has `k` readable floats, `y` has `n` writable floats, every `b` index named
/// above is readable, and the CPU has the kernel's features.
pub(crate) type GemvKernel = unsafe fn(usize, usize, *const f32, *const f32, usize, *mut f32);

/// Applies an activation to a slice in place. Safety: the CPU has the kernel's features.
pub(crate) type ActKernel = unsafe fn(&mut [f32], Activation);

/// The tables this CPU supports beyond the generic one, slowest first: each starts from the
/// previous one and overrides the entries its instruction set speeds up (AVX2+FMA, then
/// AVX-512F on x86-64; NEON on aarch64).
pub(crate) fn native_tables(generic: &Kernels) -> Vec<Kernels> {
    #[cfg_attr(
        not(any(target_arch = "x86_64", target_arch = "aarch64")),
        allow(unused_mut)
    )]
    let mut tables = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        let mut fma = generic.clone();
        if x86_64_fma::plug(&mut fma) {
            fma.winograd = crate::conv::winograd_x86::AVX2;
            if let Some(avx512) = x86_64_avx512::table(&fma) {
                tables.push(fma);
                tables.push(avx512);
            } else {
                tables.push(fma);
            }
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        let mut neon = generic.clone();
        aarch64_neon::plug(&mut neon);
        tables.push(neon);
    }
    let _ = generic;
    tables
}

/// Alternative AVX-512 register tiles (named `avx512 MxN`), for measuring tile choices.
/// The wide-tile twin of the AVX-512 table (see `x86_64_avx512::wide`); `None` for other
/// tables and ISAs.
pub(crate) fn wide_tile(table: &Kernels) -> Option<Kernels> {
    #[cfg(target_arch = "x86_64")]
    if table.name == "x86_64_avx512" {
        return Some(x86_64_avx512::wide(table));
    }
    let _ = table;
    None
}

pub(crate) fn tile_variants() -> Vec<Kernels> {
    #[cfg(target_arch = "x86_64")]
    {
        let tables = native_tables(Kernels::generic());
        if let Some(fma) = tables.iter().find(|t| t.name == "x86_64_fma") {
            return x86_64_avx512::tile_variants(fma);
        }
    }
    Vec::new()
}
