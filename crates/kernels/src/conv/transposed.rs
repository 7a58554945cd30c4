//! Convolution as the transposed GEMM `out^T (pixels x cout) = col^T (pixels x K) *
//! W^T (K x cout)` ([`super::ConvAlgo::Im2colTransposed`]): the weights are the packed
//! right-hand side (loaded as vectors, packed once at load) and the output pixels the
//! broadcast operand. For layers with few output pixels and many channels (ResNet-18's 7x7
//! layers: 49 pixels, 512 channels) the plain product `W * col` has 49 columns, which pad
//! the 32- or 48-wide register tile to 64 or 96; transposed, the 49 pixels pad to 56 rows
//! of the 8-row tile and the 512 channels fill whole panels. The product is written to a
//! pixel-major scratch matrix with bias and activation fused, then transposed into NCHW
//! (a pass over the output, small next to the `K` multiply-adds behind each value).

use std::fmt;

use super::im2col::{im2col, input_is_col, split_columns};
use super::shape::Conv2dShape;
use super::PackedConv;
use crate::arch::{Epilogue, TileBias};
use crate::gemm::parallel;
use crate::gemm::AlignedBuf;
use crate::{Activation, Kernels};

/// Floats per cache line: the packed operands and the product start on a line.
const LINE: usize = 16;

/// Whether the algorithm computes this shape (single-group layers).
pub(crate) fn applies(s: &Conv2dShape) -> bool {
    s.groups == 1
}

/// The weights and bias laid out for the transposed product on one table.
pub(crate) struct Packed {
    /// `W^T` (`K x cout`, columns padded to `np`) in depth blocks of `kc`: the block from
    /// depth `k0` (`kcb` deep) starts at `k0 * np` and holds `np / nr` panels of `kcb x nr`,
    /// so the micro-kernel reads the weights as one sequential stream.
    weights: AlignedBuf,
    /// The bias padded with zeros to `np` (all zero without a bias).
    bias: Vec<f32>,
    has_bias: bool,
    k: usize,
    kc: usize,
    /// Output channels padded to the tile width.
    np: usize,
}

impl fmt::Debug for Packed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Packed")
            .field("k", &self.k)
            .field("kc", &self.kc)
            .field("np", &self.np)
            .finish()
    }
}

/// Packs `W` (OIHW, `cout x K`) transposed for `table`'s register tile and depth blocking.
pub(crate) fn pack(table: &Kernels, s: &Conv2dShape, w: &[f32], bias: Option<&[f32]>) -> Packed {
    let (m, k) = (s.out_channels, s.cin_g() * s.kernel_h * s.kernel_w);
    let (nr, kc) = (table.nr, table.blocking.kc);
    let np = m.div_ceil(nr) * nr;
    let mut weights = AlignedBuf::with_len(np * k);
    let dst = weights.get(np * k);
    dst.fill(0.0);
    for k0 in (0..k).step_by(kc) {
        let kcb = kc.min(k - k0);
        let block = &mut dst[k0 * np..(k0 + kcb) * np];
        for (o, row) in w.chunks_exact(k).enumerate() {
            let panel = &mut block[(o / nr) * kcb * nr..][..kcb * nr];
            for (p, &x) in row[k0..k0 + kcb].iter().enumerate() {
                panel[p * nr + o % nr] = x;
            }
        }
    }
    let mut padded = vec![0.0; np];
    if let Some(b) = bias {
        padded[..m].copy_from_slice(b);
    }
    Packed {
        weights,
        bias: padded,
        has_bias: bias.is_some(),
        k,
        kc,
        np,
    }
}

/// Output pixels padded to the tile height.
fn padded_pixels(table: &Kernels, s: &Conv2dShape) -> usize {
    (s.out_h() * s.out_w()).div_ceil(table.mr) * table.mr
}

/// Scratch floats: the image split by column parity (stride 2), the column matrix (unless
/// the input is its own), the packed pixels and the padded pixel-major product, each of the
/// last two with a cache line of slack for alignment.
pub(crate) fn scratch_len(table: &Kernels, s: &Conv2dShape, p: &Packed) -> usize {
    let n = s.out_h() * s.out_w();
    let mp = padded_pixels(table, s);
    let direct = input_is_col(s);
    let split = if !direct && s.stride_w == 2 {
        s.in_channels * s.in_h * s.in_w
    } else {
        0
    };
    let col = if direct { 0 } else { p.k * n };
    split + col + LINE + mp * p.k + LINE + mp * p.np
}

/// C^T as a raw pointer, so threads can write their disjoint column ranges of it.
#[derive(Clone, Copy)]
struct ProductPtr(*mut f32);
// SAFETY: threads write disjoint panels of columns.
unsafe impl Send for ProductPtr {}
// SAFETY: as above.
unsafe impl Sync for ProductPtr {}

impl ProductPtr {
    /// The address `offset` floats in (a method, so closures capture the `Sync` wrapper).
    ///
    /// Safety: `offset` lies inside the product.
    unsafe fn at(self, offset: usize) -> *mut f32 {
        // SAFETY: forwarded contract.
        unsafe { self.0.add(offset) }
    }
}

/// Runs the convolution as one transposed product per image.
pub(crate) fn run(
    pc: &PackedConv,
    packed: &Packed,
    input: &[f32],
    output: &mut [f32],
    scratch: &mut [f32],
    threads: usize,
) {
    let s = &pc.shape;
    let t = pc.table;
    let (m, k, np) = (s.out_channels, packed.k, packed.np);
    let n = s.out_h() * s.out_w();
    let mp = padded_pixels(t, s);
    let in_image = s.in_channels * s.in_h * s.in_w;
    let direct = input_is_col(s);
    let split = !direct && s.stride_w == 2;
    let (split_buf, scratch) = scratch.split_at_mut(if split { in_image } else { 0 });
    let (col_buf, scratch) = scratch.split_at_mut(if direct { 0 } else { k * n });
    let (a_buf, scratch) = aligned(scratch, mp * k);
    let (product, _) = aligned(scratch, mp * np);
    for (image, out) in input
        .chunks_exact(in_image)
        .zip(output.chunks_exact_mut(m * n))
    {
        let col: &[f32] = if direct {
            image
        } else {
            let image = if split {
                split_columns(s.in_w, image, split_buf);
                &*split_buf
            } else {
                image
            };
            im2col(s, image, 0, col_buf, split);
            col_buf
        };
        pack_pixels(col, n, k, t.mr, packed.kc, a_buf);
        multiply(pc, packed, a_buf, product, mp, threads);
        transpose(product, (n, m), np, out);
    }
}

/// The first `len` floats of `buf` from its first cache-line boundary, and the rest.
fn aligned(buf: &mut [f32], len: usize) -> (&mut [f32], &mut [f32]) {
    let off = buf.as_ptr().align_offset(LINE * 4).min(LINE - 1);
    buf[off..].split_at_mut(len)
}

/// Packs `col^T` (`col` is `k x n` row-major) into depth blocks of `kc`: the block from depth
/// `k0` (`kcb` deep) starts at `k0 * mp` and holds `mp / mr` panels of `kcb x mr` (pixels
/// past `n` zero).
fn pack_pixels(col: &[f32], n: usize, k: usize, mr: usize, kc: usize, dst: &mut [f32]) {
    let mp = n.div_ceil(mr) * mr;
    for k0 in (0..k).step_by(kc) {
        let kcb = kc.min(k - k0);
        let block = &mut dst[k0 * mp..(k0 + kcb) * mp];
        for (p, row) in col[k0 * n..(k0 + kcb) * n].chunks_exact(n).enumerate() {
            for (q, run) in row.chunks(mr).enumerate() {
                let at = q * kcb * mr + p * mr;
                block[at..at + run.len()].copy_from_slice(run);
                block[at + run.len()..at + mr].fill(0.0);
            }
        }
    }
}

/// `product (mp x np) = act(A (mp x k) * W^T (k x np) + bias)`, every tile full (both sides
/// are padded), column panels split across threads: each output is computed by one thread
/// with the same arithmetic whatever the split.
fn multiply(
    pc: &PackedConv,
    packed: &Packed,
    a: &[f32],
    product: &mut [f32],
    mp: usize,
    threads: usize,
) {
    let t = pc.table;
    let (mr, nr, k, kc, np) = (t.mr, t.nr, packed.k, packed.kc, packed.np);
    let weights = packed.weights.slice(np * k);
    let flops = 2 * mp * np * k;
    let threads = parallel::threads_for(flops, threads, t.min_flops_per_thread);
    let parts = parallel::split_1d(np / nr, 1, threads);
    let c = ProductPtr(product.as_mut_ptr());
    let act = pc.activation;
    parallel::run(parts, |panels| {
        for k0 in (0..k).step_by(kc) {
            let kcb = kc.min(k - k0);
            let last = k0 + kcb == k;
            for q in panels.clone() {
                let bias = if last && packed.has_bias {
                    TileBias::Col(packed.bias[q * nr..].as_ptr())
                } else {
                    TileBias::None
                };
                let epi = Epilogue {
                    alpha: 1.0,
                    beta: if k0 == 0 { 0.0 } else { 1.0 },
                    bias,
                    act: if last { act } else { Activation::None },
                };
                let ap = &a[k0 * mp..(k0 + kcb) * mp];
                let bp = &weights[k0 * np + q * kcb * nr..][..kcb * nr];
                // The panel this thread multiplies next: the following one, or the first of
                // its range in the next depth block.
                let next = if q + 1 < panels.end {
                    bp.as_ptr().wrapping_add(kcb * nr)
                } else {
                    let kn = kc.min(k - (k0 + kcb).min(k));
                    weights
                        .as_ptr()
                        .wrapping_add((k0 + kcb) * np + panels.start * kn * nr)
                };
                // SAFETY: `ap` holds the `mp / mr` panels of `kcb x mr`, `bp` one `kcb x nr`
                // panel, the bias `nr` values from `q * nr`; C's column panel `q` (rows
                // `0..mp`, row stride `np`) lies in `product` and is written by this thread
                // alone; the table's kernel runs on this CPU.
                unsafe {
                    let (ap, bp, cp) = (ap.as_ptr(), bp.as_ptr(), c.at(q * nr));
                    match t.mmm_prefetch {
                        Some(kernel) => kernel(kcb, ap, bp, cp, np, &epi, mp / mr, next),
                        None => (t.mmm)(kcb, ap, bp, cp, np, &epi, mp / mr),
                    }
                };
            }
        }
    });
}

/// `dst (cols x rows) = src (rows x cols, row stride `stride`)^T`, `dst` row-major; 8 x 8
/// blocks keep the strided side within a few cache lines.
fn transpose(src: &[f32], (rows, cols): (usize, usize), stride: usize, dst: &mut [f32]) {
    const B: usize = 8;
    for i0 in (0..rows).step_by(B) {
        let i1 = (i0 + B).min(rows);
        for j0 in (0..cols).step_by(B) {
            for j in j0..(j0 + B).min(cols) {
                let out = &mut dst[j * rows + i0..j * rows + i1];
                for (i, o) in (i0..i1).zip(out) {
                    *o = src[i * stride + j];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The blocked transpose against the element definition, on odd sizes.
        #[test]
        fn transpose_matches_definition(rows in 1usize..30, cols in 1usize..30) {
            let src: Vec<f32> = (0..rows * cols).map(|i| i as f32).collect();
            let mut dst = vec![f32::NAN; rows * cols];
            transpose(&src, (rows, cols), cols, &mut dst);
            for i in 0..rows {
                for j in 0..cols {
                    prop_assert_eq!(dst[j * rows + i], src[i * cols + j]);
                }
            }
        }
    }
}
