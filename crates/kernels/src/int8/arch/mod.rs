//! Int8 kernel contracts and the per-instruction-set implementations.
//!
//! Packed layouts (shared by every table; only `mr`/`nr` differ): weights are panels of `mr`
//! rows, and for each pair of depths `p` the panel holds `mr` pairs
//! `[w(i, 2p) - zp_i, w(i, 2p + 1) - zp_i]` as i16; activations are panels of `nr` columns
//! holding, per pair of depths, `nr` pairs `[x(2p, j) - zp, x(2p + 1, j) - zp]`. An odd depth is
//! padded with a zero row, and partial panels with zero rows or columns.
//!
//! Tables with a dot-product instruction (AVX512-VNNI `vpdpbusd`: four u8 x s8 products summed
//! into i32, no intermediate saturation) use the *quads* layout instead ([`DotKernels`]):
//! weights as raw s8 (u8 weights shifted by -128), per group of four depths `q` the panel holds
//! `mr` runs `[w(i, 4q) .. w(i, 4q + 3)]`; activations as u8 (s8 ones shifted by +128), per
//! quad `nr` runs `[x(4q, j) .. x(4q + 3, j)]`; depth padded with zeros to a multiple of four.
//! Zero points are applied after the product from precomputed sums (see `gemm_dot.rs`).

pub(crate) mod generic;
pub(crate) mod portable;
pub(crate) mod portable_dot;

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86_64_avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86_64_avx512_elementwise;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86_64_vnni;

#[cfg(target_arch = "aarch64")]
pub(crate) mod aarch64_neon;

use super::elementwise::AddParams;
use super::requant::RowParams;
use super::Int8Kernels;

/// Largest register tile any table uses (sizes the stack buffer of one tile).
pub(crate) const MAX_TILE: usize = 12 * 32;

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

/// Widens one row of 8-bit inputs `(src, n, flip, zp, dst)`: `dst[i] = (src[i] ^ flip) - zp`
/// as i16 (`flip` 0x80 and `zp` + 128 read s8 inputs), for the depthwise planes.
///
/// Safety: `src` has `n` readable bytes, `dst` `n` writable i16; `zp` in `[0, 255]`; CPU
/// features as named.
pub(crate) type WidenKernel = unsafe fn(*const u8, usize, u8, i32, *mut i16);

/// Quantize / dequantize slices (per-tensor scale): `(x, scale, zp, out)` of equal lengths.
#[derive(Clone, Copy)]
pub(crate) struct QuantKernels {
    pub quantize_u8: unsafe fn(&[f32], f32, i32, &mut [u8]),
    pub quantize_i8: unsafe fn(&[f32], f32, i32, &mut [i8]),
    pub dequantize_u8: unsafe fn(&[u8], f32, i32, &mut [f32]),
    pub dequantize_i8: unsafe fn(&[i8], f32, i32, &mut [f32]),
    /// Quantized addition `(a, b, params, y)` of equal lengths (`elementwise.rs`).
    pub add_u8: unsafe fn(&[u8], &[u8], &AddParams, &mut [u8]),
    pub add_i8: unsafe fn(&[i8], &[i8], &AddParams, &mut [i8]),
}

/// Dot micro-kernel `(kq, a, b, c)`: `c[i * nr + j] = sum_{q < kq, t < 4} a[q][i][t] *
/// b[q][j][t]` (s8 weights times u8 activations, quads layout) with wrapping i32 adds,
/// overwriting the `mr x nr` tile `c`.
///
/// Safety: `a` has `kq * mr * 4` and `b` `kq * nr * 4` readable bytes, `c` has `mr * nr`
/// writable i32, and the CPU has the kernel's features.
pub(crate) type DotTileKernel = unsafe fn(usize, *const i8, *const u8, *mut i32);

/// Packs one activation panel in the quads layout `(src, rs, cs, k, cols, flip, dst, nr)`:
/// the `k x cols` byte view at `src` (element `(p, j)` at `src + p * rs + j * cs`), each byte
/// XORed with `flip` (0x80 turns s8 into u8 shifted by 128), `cols <= nr`, into `k.div_ceil(4)`
/// quads of `nr` columns, zero padded.
///
/// Safety: every element of the view is readable, `dst` has `k.div_ceil(4) * nr * 4` writable
/// bytes, `cols <= nr`, and the CPU has the kernel's features.
pub(crate) type DotPackKernel =
    unsafe fn(*const u8, usize, usize, usize, usize, u8, *mut u8, usize);

/// Packs one activation panel in the quads layout from row pointers `(base, offs, k, cols,
/// flip, dst, nr)`: element `(p, j)` is the byte at `base + offs[p] + j` (each row a contiguous
/// run: the implicit-GEMM convolution's taps), XORed with `flip`, into `k.div_ceil(4)` quads of
/// `nr` columns, zero padded.
///
/// Safety: `offs` has `k` values, bytes `base + offs[p] .. base + offs[p] + cols` are readable
/// for every `p < k`, `dst` has `k.div_ceil(4) * nr * 4` writable bytes, `cols <= nr`, and the
/// CPU has the kernel's features.
pub(crate) type DotPackRowsKernel =
    unsafe fn(*const u8, *const usize, usize, usize, u8, *mut u8, usize);

/// Matrix-vector product over one weight panel `(kq, a, x, out)`: `out[i] = sum_{q, t}
/// a[q][i][t] * x[4 q + t]` for the panel's `mr` rows (wrapping i32).
///
/// Safety: `a` has `kq * mr * 4` and `x` `kq * 4` readable bytes, `out` `mr` writable i32,
/// and the CPU has the kernel's features.
pub(crate) type DotGemvKernel = unsafe fn(usize, *const i8, *const u8, *mut i32);

/// [`DotTileKernel`] with the u8 requantizing store fused `(kq, a, b, rows, nrows, dst, rs,
/// width)`: tile row `i < nrows` goes through `rows[i]` (as `StoreKernel<u8>`) to `dst + i * rs
/// + j` for `j < width`, straight from the accumulator registers.
///
/// Safety: as [`DotTileKernel`], plus `rows` has `nrows <= mr` values, `width <= nr`, and every
/// `dst + i * rs + j` above is writable.
pub(crate) type DotTileU8Kernel =
    unsafe fn(usize, *const i8, *const u8, *const RowParams, usize, *mut u8, usize, usize);

/// The kernels of a table that uses the quads layout.
#[derive(Clone, Copy)]
pub(crate) struct DotKernels {
    pub tile: DotTileKernel,
    /// The tile with its u8 store fused, where the table has one.
    pub tile_u8: Option<DotTileU8Kernel>,
    pub pack: DotPackKernel,
    pub pack_rows: DotPackRowsKernel,
    pub gemv: DotGemvKernel,
}

/// Appends the tables of this CPU's instruction sets to `all` (which starts with the portable
/// ones), in increasing order of preference.
pub(crate) fn native_tables(all: &mut Vec<Int8Kernels>) {
    #[cfg(target_arch = "x86_64")]
    {
        let mut t = generic::table();
        if x86_64_avx2::plug(&mut t) {
            all.push(t.clone());
            for wide in [false, true] {
                let mut v = t.clone();
                if x86_64_vnni::plug(&mut v, wide) {
                    all.push(v);
                }
            }
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        let mut t = generic::table();
        aarch64_neon::plug(&mut t);
        all.push(t);
    }
    let _ = all;
}
