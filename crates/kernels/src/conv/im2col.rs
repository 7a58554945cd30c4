//! Convolution as GEMM: `out[g] = W[g] (cout_g x K) * col (K x OH*OW)`, with
//! `K = cin_g * kh * kw`. The column matrix is built in the caller's scratch, except for 1x1
//! stride-1 unpadded convolutions whose input already is that matrix.

use super::shape::{valid_range, Conv2dShape};
use super::PackedConv;
use crate::{Bias, GemmParams, MatMut, MatRef, Result};

/// Scratch floats for the column matrix of one group (0 when the input is used directly).
pub(crate) fn scratch_len(s: &Conv2dShape, direct_input: bool) -> usize {
    if direct_input {
        0
    } else {
        s.cin_g() * s.kernel_h * s.kernel_w * s.out_h() * s.out_w()
    }
}

/// Whether the input of a group is its own column matrix (1x1, stride 1, no padding).
pub(crate) fn input_is_col(s: &Conv2dShape) -> bool {
    s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 && s.unpadded()
}

/// Writes the `cin_g * kh * kw x oh * ow` column matrix of channels `c0..c0 + cin_g` of one
/// image (`image` is that image's `C x H x W` slice) into `col`.
pub(crate) fn im2col(s: &Conv2dShape, image: &[f32], c0: usize, col: &mut [f32]) {
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
    for b in 0..s.batch {
        let image = &input[b * in_image..(b + 1) * in_image];
        for g in 0..s.groups {
            let col: &[f32] = if direct {
                &image[g * cin_g * n..(g + 1) * cin_g * n]
            } else {
                let col = &mut scratch[..k * n];
                im2col(s, image, g * cin_g, col);
                col
            };
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
            let colm = MatRef::row_major(col, k, n)?;
            let at = b * out_image + g * cout_g * n;
            let out = MatMut::row_major(&mut output[at..at + cout_g * n], cout_g, n)?;
            pc.table
                .gemm_packed_a(&params, &pc.packed_w[g], colm, out)?;
        }
    }
    Ok(())
}
