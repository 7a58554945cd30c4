//! Int8 kernel contracts and the per-instruction-set implementations.
//!
//! Packed layouts (shared by every table; only `mr`/`nr` differ): weights are panels of `mr`
//! rows, and for each pair of depths `p` the panel holds `mr` pairs
//! `[w(i, 2p) - zp_i, w(i, 2p + 1) - zp_i]` as i16; activations are panels of `nr` columns
//! holding, per pair of depths, `nr` pairs `[x(2p, j) - zp, x(2p + 1, j) - zp]`. An odd depth is
//! padded with a zero row, and partial panels with zero rows or columns.

pub(crate) mod generic;
pub(crate) mod portable;

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86_64_avx2;

#[cfg(target_arch = "aarch64")]
pub(crate) mod aarch64_neon;

use super::requant::RowParams;
use super::Int8Kernels;

/// Largest register tile any table uses (sizes the stack buffer of one tile).
pub(crate) const MAX_TILE: usize = 8 * 16;

/// Micro-kernel `(kp, a, b, c)`: `c[i * nr + j] = sum_{p < kp} a[p][i] . b[p][j]` (the dot of
/// the i16 pairs) with wrapping i32 adds, overwriting the `mr x nr` tile `c`.
///
/// Safety: `a` has `kp * mr * 2` and `b` `kp * nr * 2` readable i16, `c` has `mr * nr`
/// writable i32, and the CPU has the kernel's features.
pub(crate) type TileKernel = unsafe fn(usize, *const i16, *const i16, *mut i32);

/// Packs one activation panel `(src, rs, cs, k, cols, zp, dst, nr)`: the `k x cols` view at
/// `src` (element `(p, j)` at `src + p * rs + j * cs`), `cols <= nr`, into the layout above
/// with `k.div_ceil(2)` pairs of `nr` columns.
///
/// Safety: every element of the view is readable, `dst` has `k.div_ceil(2) * nr * 2` writable
/// i16, `cols <= nr`, and the CPU has the kernel's features.
pub(crate) type PackKernel<T> =
    unsafe fn(*const T, usize, usize, usize, usize, i32, *mut i16, usize);

/// Stores one row of accumulators through the requantization of [`RowParams`].
///
/// Safety: `dst + j * cs` is writable for every `j < acc.len()`, and the CPU has the features.
pub(crate) type StoreKernel<T> = unsafe fn(&[i32], &RowParams, *mut T, usize);

/// The store kernel per output type.
#[derive(Clone, Copy)]
pub(crate) struct StoreKernels {
    pub u8: StoreKernel<u8>,
    pub i8: StoreKernel<i8>,
    pub i32: StoreKernel<i32>,
    pub f32: StoreKernel<f32>,
}

/// One output row of a depthwise 3x3 convolution `(rows, w, stride, acc)`:
/// `acc[o] = sum_{r, t < 3} w[3 r + t] * rows[r][o * stride + t]` for `o < acc.len()`, over
/// zero-point-free i16 input rows (padding already zero).
///
/// Safety: each row has `(acc.len() - 1) * stride + 3` readable i16; CPU features as named.
pub(crate) type DepthwiseRowKernel = unsafe fn([*const i16; 3], &[i32; 9], usize, &mut [i32]);

/// Quantize / dequantize slices (per-tensor scale): `(x, scale, zp, out)` of equal lengths.
#[derive(Clone, Copy)]
pub(crate) struct QuantKernels {
    pub quantize_u8: unsafe fn(&[f32], f32, i32, &mut [u8]),
    pub quantize_i8: unsafe fn(&[f32], f32, i32, &mut [i8]),
    pub dequantize_u8: unsafe fn(&[u8], f32, i32, &mut [f32]),
    pub dequantize_i8: unsafe fn(&[i8], f32, i32, &mut [f32]),
}

/// Overrides the generic entries with the best ones this CPU supports.
pub(crate) fn plug_native(table: &mut Int8Kernels) {
    #[cfg(target_arch = "x86_64")]
    x86_64_avx2::plug(table);
    #[cfg(target_arch = "aarch64")]
    aarch64_neon::plug(table);
    let _ = table;
}
