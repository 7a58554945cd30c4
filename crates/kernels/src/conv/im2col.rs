//! Convolution as GEMM: `out[g] = W[g] (cout_g x K) * col (K x OH*OW)`, with
//! `K = cin_g * kh * kw`. The column matrix is built in the caller's scratch, except for 1x1
//! stride-1 unpadded convolutions whose input already is that matrix.

use super::shape::{valid_range, Conv2dShape};
use super::PackedConv;
use std::ops::Range;

use crate::{Bias, GemmParams, MatMut, MatRef, Result};

/// Scratch floats for the column matrix of one group: none when the input is used directly;
/// when the matrix is unfolded block by block into the GEMM's packing buffers, none either,
/// except the image with its columns split by parity for stride 2 ([`split_columns`]).
pub(crate) fn scratch_len(s: &Conv2dShape, direct_input: bool) -> usize {
    if direct_input {
        return 0;
    }
    let split = if s.stride_w == 2 {
        s.in_channels * s.in_h * s.in_w
    } else {
        0
    };
    if fused(s) {
        split
    } else {
        split + s.cin_g() * s.kernel_h * s.kernel_w * s.out_h() * s.out_w()
    }
}

/// Column matrices from this size on are unfolded block by block ([`Im2colSource`]); smaller
/// ones whole, then packed. Measured (AVX-512, 1 thread): block by block is 1.2x faster on
/// ResNet-18's 7x7 stem (a 7 MiB matrix) and about even at 1.8 MiB, but 0.8-0.95x on the
/// stride-2 layers at 28 and 14 and the 3x3 at 7 (0.2-0.9 MiB, which stay in L2 anyway, and
/// where its short runs of a few pixels cost more than the copy it saves).
const FUSED_MIN_BYTES: usize = 1 << 20;

fn fused(s: &Conv2dShape) -> bool {
    let floats = s.cin_g() * s.kernel_h * s.kernel_w * s.out_h() * s.out_w();
    floats.saturating_mul(4) >= FUSED_MIN_BYTES
}

/// Whether the input of a group is its own column matrix (1x1, stride 1, no padding).
pub(crate) fn input_is_col(s: &Conv2dShape) -> bool {
    s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 && s.unpadded()
}

/// Writes the `cin_g * kh * kw x oh * ow` column matrix of channels `c0..c0 + cin_g` of one
/// image (`image` is that image's `C x H x W` slice) into `col`, row-major: the plain twin
/// of [`Im2colSource::pack`]. `split`: `image` rows are split by column parity
/// ([`split_columns`], stride 2 only).
pub(crate) fn im2col(s: &Conv2dShape, image: &[f32], c0: usize, col: &mut [f32], split: bool) {
    let (oh, ow) = (s.out_h(), s.out_w());
    let (h, w) = (s.in_h, s.in_w);
    let mut rows = col.chunks_exact_mut(oh * ow);
    for c in c0..c0 + s.cin_g() {
        let plane = &image[c * h * w..(c + 1) * h * w];
        for i in 0..s.kernel_h {
            let dy = (i * s.dilation_h) as isize - s.pad_top as isize;
            let ys = valid_range(oh, h, s.stride_h, dy);
            for j in 0..s.kernel_w {
                let dx = (j * s.dilation_w) as isize - s.pad_left as isize;
                let xs = valid_range(ow, w, s.stride_w, dx);
                let Some(row) = rows.next() else { return };
                for (oy, out) in row.chunks_exact_mut(ow).enumerate() {
                    if !ys.contains(&oy) || xs.is_empty() {
                        out.fill(0.0);
                        continue;
                    }
                    let iy = (oy * s.stride_h) as isize + dy;
                    let src = &plane[iy as usize * w..][..w];
                    out[..xs.start].fill(0.0);
                    out[xs.end..].fill(0.0);
                    let x0 = (xs.start * s.stride_w) as isize + dx;
                    if s.stride_w == 1 {
                        out[xs.clone()].copy_from_slice(&src[x0 as usize..][..xs.len()]);
                    } else if split {
                        let at = (x0 as usize % 2) * w.div_ceil(2) + x0 as usize / 2;
                        out[xs.clone()].copy_from_slice(&src[at..][..xs.len()]);
                    } else {
                        for (k, o) in out[xs.clone()].iter_mut().enumerate() {
                            *o = src[x0 as usize + k * s.stride_w];
                        }
                    }
                }
            }
        }
    }
}

/// The column matrix of channels `c0..c0 + cin_g` of one image, as the GEMM's right-hand
/// side: the driver asks for one `kc x nc` block at a time and [`Im2colSource::pack`] writes
/// it straight into the packed panels. Unfolding the whole matrix first and packing it again
/// streamed it through memory twice (7 MiB for ResNet-18's first layer); written per block it
/// stays in L2.
#[derive(Clone, Copy)]
pub(crate) struct Im2colSource<'a> {
    pub shape: &'a Conv2dShape,
    pub image: &'a [f32],
    pub c0: usize,
    /// `image` rows hold their even columns, then their odd ones ([`split_columns`]; stride
    /// 2 only): every run of a stride-2 row is then a contiguous copy.
    pub split: bool,
}

/// Writes `image` (`C x H x W`) with each row's even columns first, then its odd ones: a
/// stride-2 window then reads consecutive elements. On ResNet-18's stem (7x7/2, a 7 MiB
/// column matrix) the strided element-by-element copy was 6% of the model's time.
pub(crate) fn split_columns(w: usize, image: &[f32], out: &mut [f32]) {
    let half = w.div_ceil(2);
    for (row, dst) in image.chunks_exact(w).zip(out.chunks_exact_mut(w)) {
        let (even, odd) = dst.split_at_mut(half);
        for (e, pair) in even.iter_mut().zip(row.chunks(2)) {
            *e = pair[0];
        }
        for (o, pair) in odd.iter_mut().zip(row.chunks_exact(2)) {
            *o = pair[1];
        }
    }
}

impl Im2colSource<'_> {
    /// Rows (`cin_g * kh * kw`) and columns (output pixels) of the column matrix.
    pub(crate) fn dims(&self) -> (usize, usize) {
        let s = self.shape;
        (s.cin_g() * s.kernel_h * s.kernel_w, s.out_h() * s.out_w())
    }

    /// Writes rows `rows` and columns `cols` (`cols.start` a multiple of `nr`) as panels of
    /// `nr` columns, `rows.len()` deep and `panel_stride` floats apart; columns past
    /// `cols.end` in the last panel are zero. Each (row, output row) pair is copied as runs
    /// of up to `nr` pixels, one per panel it touches.
    pub(crate) fn pack(
        &self,
        dst: &mut [f32],
        rows: Range<usize>,
        cols: Range<usize>,
        nr: usize,
        panel_stride: usize,
    ) {
        let s = self.shape;
        let (oh, ow, h, w) = (s.out_h(), s.out_w(), s.in_h, s.in_w);
        let (kh, kw) = (s.kernel_h, s.kernel_w);
        let panels = cols.len().div_ceil(nr);
        let tail = cols.len() % nr;
        if tail != 0 {
            let last = &mut dst[(panels - 1) * panel_stride..][..rows.len() * nr];
            for row in last.chunks_exact_mut(nr) {
                row[tail..].fill(0.0);
            }
        }
        let (oy0, oy1) = (cols.start / ow, (cols.end - 1) / ow);
        for (rr, r) in rows.enumerate() {
            let (c, i, j) = (self.c0 + r / (kh * kw), (r / kw) % kh, r % kw);
            let plane = &self.image[c * h * w..(c + 1) * h * w];
            let dy = (i * s.dilation_h) as isize - s.pad_top as isize;
            let dx = (j * s.dilation_w) as isize - s.pad_left as isize;
            let ys = valid_range(oh, h, s.stride_h, dy);
            let xs = valid_range(ow, w, s.stride_w, dx);
            for oy in oy0..=oy1 {
                let inside = ys.contains(&oy) && !xs.is_empty();
                let src = if inside {
                    let iy = ((oy * s.stride_h) as isize + dy) as usize;
                    &plane[iy * w..][..w]
                } else {
                    &[][..]
                };
                let first = (oy * ow).max(cols.start);
                let last = (oy * ow + ow).min(cols.end);
                let mut p = first;
                while p < last {
                    let (q, t) = ((p - cols.start) / nr, (p - cols.start) % nr);
                    let len = (nr - t).min(last - p);
                    let out = &mut dst[q * panel_stride + rr * nr + t..][..len];
                    if inside {
                        copy_run(s, src, dx, &xs, p - oy * ow, out, self.split);
                    } else {
                        out.fill(0.0);
                    }
                    p += len;
                }
            }
        }
    }
}

/// Output pixels `ox0..ox0 + out.len()` of one row of the column matrix: input pixels where
/// `xs` says they exist, zeros elsewhere.
#[inline]
fn copy_run(
    s: &Conv2dShape,
    src: &[f32],
    dx: isize,
    xs: &std::ops::Range<usize>,
    ox0: usize,
    out: &mut [f32],
    split: bool,
) {
    let end = ox0 + out.len();
    let (lo, hi) = (xs.start.clamp(ox0, end), xs.end.clamp(ox0, end));
    out[..lo - ox0].fill(0.0);
    out[hi - ox0..].fill(0.0);
    if lo < hi {
        let x0 = ((lo * s.stride_w) as isize + dx) as usize;
        let dst = &mut out[lo - ox0..hi - ox0];
        if s.stride_w == 1 {
            dst.copy_from_slice(&src[x0..x0 + dst.len()]);
        } else if split {
            // Columns x0, x0 + 2, ... sit together in the parity half of x0.
            let at = (x0 % 2) * src.len().div_ceil(2) + x0 / 2;
            dst.copy_from_slice(&src[at..at + dst.len()]);
        } else {
            for (k, o) in dst.iter_mut().enumerate() {
                *o = src[x0 + k * s.stride_w];
            }
        }
    }
}

/// Runs the convolution as one GEMM per image and group.
pub(crate) fn run(
    pc: &PackedConv,
    input: &[f32],
    output: &mut [f32],
    scratch: &mut [f32],
    threads: usize,
) -> Result<()> {
    let s = &pc.shape;
    let (cin_g, cout_g) = (s.cin_g(), s.cout_g());
    let k = cin_g * s.kernel_h * s.kernel_w;
    let n = s.out_h() * s.out_w();
    let in_image = s.in_channels * s.in_h * s.in_w;
    let out_image = s.out_channels * n;
    let direct = input_is_col(s);
    let split = !direct && s.stride_w == 2;
    let (split_buf, scratch) = scratch.split_at_mut(if split { in_image } else { 0 });
    for b in 0..s.batch {
        let mut image = &input[b * in_image..(b + 1) * in_image];
        if split {
            split_columns(s.in_w, image, split_buf);
            image = &*split_buf;
        }
        for g in 0..s.groups {
            let bias = match &pc.bias {
                Some(v) => Bias::PerRow(&v[g * cout_g..(g + 1) * cout_g]),
                None => Bias::None,
            };
            let params = GemmParams {
                bias,
                activation: pc.activation,
                threads,
                ..GemmParams::default()
            };
            let at = b * out_image + g * cout_g * n;
            let out = MatMut::row_major(&mut output[at..at + cout_g * n], cout_g, n)?;
            if !direct && !fused(s) {
                let col = &mut scratch[..k * n];
                im2col(s, image, g * cin_g, col, split);
                let colm = MatRef::row_major(col, k, n)?;
                pc.table
                    .gemm_packed_a(&params, &pc.packed_w[g], colm, out)?;
            } else if direct {
                let col = &image[g * cin_g * n..(g + 1) * cin_g * n];
                let colm = MatRef::row_major(col, k, n)?;
                pc.table
                    .gemm_packed_a(&params, &pc.packed_w[g], colm, out)?;
            } else {
                let src = Im2colSource {
                    shape: s,
                    image,
                    c0: g * cin_g,
                    split,
                };
                pc.table.gemm_im2col(&params, &pc.packed_w[g], src, out)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Any block written as panels holds exactly the row-major column matrix's block,
        /// zero-padded.
        #[test]
        fn panels_hold_the_column_matrix(
            (c, h, w, kh, kw) in (1usize..4, 1usize..12, 1usize..12, 1usize..4, 1usize..4),
            (sh, sw, dh, dw) in (1usize..3, 1usize..3, 1usize..3, 1usize..3),
            (pt, pl, pb, pr) in (0usize..3, 0usize..3, 0usize..3, 0usize..3),
            nr in prop_oneof![Just(8usize), Just(16), Just(32), 1usize..40],
            (b0, b1, b2, b3, extra) in (0usize..100, 0usize..100, 0usize..100, 0usize..100, 0usize..3),
        ) {
            let mut s = Conv2dShape::simple(1, c, h, w, 2, 1);
            (s.kernel_h, s.kernel_w, s.stride_h, s.stride_w) = (kh, kw, sh, sw);
            (s.dilation_h, s.dilation_w) = (dh, dw);
            (s.pad_top, s.pad_left, s.pad_bottom, s.pad_right) = (pt, pl, pb, pr);
            prop_assume!(s.validate().is_ok());
            let image: Vec<f32> = (0..c * h * w).map(|i| i as f32 + 1.0).collect();
            let (k, n) = (c * kh * kw, s.out_h() * s.out_w());
            let mut col = vec![f32::NAN; k * n];
            im2col(&s, &image, 0, &mut col, false);
            if sw == 2 {
                let mut halves = vec![0f32; image.len()];
                split_columns(w, &image, &mut halves);
                let mut from_halves = vec![f32::NAN; k * n];
                im2col(&s, &halves, 0, &mut from_halves, true);
                prop_assert!(col.iter().zip(&from_halves).all(|(a, b)| a.to_bits() == b.to_bits()));
            }
            // A random block: rows r0..r1, columns from a multiple of nr.
            let (r0, r1) = (k * b0 / 100, (k * b0 / 100 + 1 + k * b1 / 100).min(k));
            let j0 = (n * b2 / 100) / nr * nr;
            let j1 = (j0 + 1 + n * b3 / 100).min(n);
            let kb = r1 - r0;
            let stride = kb * nr + extra;
            let mut panels = vec![f32::NAN; (j1 - j0).div_ceil(nr) * stride];
            // Stride 2 also from the image with its columns split by parity.
            let mut halves = vec![f32::NAN; image.len()];
            split_columns(w, &image, &mut halves);
            for split in [false, sw == 2] {
                let image = if split { &halves } else { &image };
                let src = Im2colSource { shape: &s, image, c0: 0, split };
                panels.fill(f32::NAN);
                src.pack(&mut panels, r0..r1, j0..j1, nr, stride);
                for (q, panel) in panels.chunks(stride).enumerate() {
                    for r in 0..kb {
                        for t in 0..nr {
                            let j = j0 + q * nr + t;
                            let want = if j < j1 { col[(r0 + r) * n + j] } else { 0.0 };
                            prop_assert_eq!(panel[r * nr + t].to_bits(), want.to_bits(), "row {} col {} split {}", r0 + r, j, split);
                        }
                    }
                }
            }
        }
    }
}
