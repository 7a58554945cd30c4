//! 2-D ConvTranspose with constant weights as a GEMM and a col2im: per image and group,
//! `cols[(m, ky, kx), pixel] = sum_c W[c, m, ky, kx] * X[c, pixel]` (the weights packed once as
//! the GEMM's A), then every column is added into the output at
//! `(y * stride + ky * dilation - pad, x * stride + kx * dilation - pad)`, on top of the bias.
//! The reference eval it replaces loops over every multiply-add in f64.

use super::LowerCtx;
use crate::{Io, Kernel, Result};
use edgeopt_ir::ops::nn::common::Axis;
use edgeopt_ir::ops::nn::conv_transpose::ConvTranspose;
use edgeopt_kernels::{gemm_packed_a, GemmParams, MatMut, MatRef, PackedA};

struct ConvT {
    batch: usize,
    /// Input channels per group, output channels per group.
    cg: usize,
    mg: usize,
    /// Per group, `W_g^T` (`mg * kh * kw` rows by `cg`) packed.
    packed: Vec<PackedA>,
    bias: Option<Vec<f32>>,
    /// Height and width as the forward convolution from the output to X sees them.
    h: Axis,
    w: Axis,
}

impl ConvT {
    fn pixels(&self) -> usize {
        self.h.output * self.w.output
    }

    fn taps(&self) -> usize {
        self.h.kernel * self.w.kernel
    }

    /// Adds the columns of one group (`mg * taps` rows of `pixels`) into its output planes.
    fn col2im(&self, cols: &[f32], out: &mut [f32]) {
        let (h, w) = (&self.h, &self.w);
        let (oh, ow, iw) = (h.input, w.input, w.output);
        let plane = oh * ow;
        for (m, y) in out.chunks_exact_mut(plane).enumerate() {
            for ky in 0..h.kernel {
                for kx in 0..w.kernel {
                    let row = (m * h.kernel + ky) * w.kernel + kx;
                    let col = &cols[row * self.pixels()..(row + 1) * self.pixels()];
                    let dx = (kx * w.dilation) as isize - w.pad_begin as isize;
                    // Input columns whose output column lands inside the plane.
                    let lo = if dx >= 0 {
                        0
                    } else {
                        (-dx as usize).div_ceil(w.stride)
                    };
                    let hi = if (ow as isize) > dx {
                        ((ow as isize - dx) as usize).div_ceil(w.stride).min(iw)
                    } else {
                        0
                    };
                    for (iy, src) in col.chunks_exact(iw).enumerate() {
                        let oy = (iy * h.stride + ky * h.dilation) as isize - h.pad_begin as isize;
                        if oy < 0 || oy >= oh as isize || lo >= hi {
                            continue;
                        }
                        let dst = &mut y[oy as usize * ow..(oy as usize + 1) * ow];
                        let start = (lo as isize * w.stride as isize + dx) as usize;
                        for (d, &v) in dst[start..].iter_mut().step_by(w.stride).zip(&src[lo..hi]) {
                            *d += v;
                        }
                    }
                }
            }
        }
    }
}

impl Kernel for ConvT {
    fn name(&self) -> &'static str {
        "conv_transpose.gemm"
    }

    fn scratch_len(&self) -> usize {
        self.mg * self.taps() * self.pixels()
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let x = io.input(0);
        let threads = io.threads;
        let (out, scratch) = io.output_and_scratch();
        let groups = self.packed.len();
        let (pixels, plane) = (self.pixels(), self.h.input * self.w.input);
        let rows = self.mg * self.taps();
        let cols = &mut scratch[..rows * pixels];
        let (xs, ys) = (groups * self.cg * pixels, groups * self.mg * plane);
        for n in 0..self.batch {
            let (x, y) = (&x[n * xs..(n + 1) * xs], &mut out[n * ys..(n + 1) * ys]);
            for (m, p) in y.chunks_exact_mut(plane).enumerate() {
                p.fill(self.bias.as_ref().map_or(0.0, |b| b[m]));
            }
            for (g, packed) in self.packed.iter().enumerate() {
                let xg = &x[g * self.cg * pixels..(g + 1) * self.cg * pixels];
                let params = GemmParams {
                    threads,
                    ..GemmParams::default()
                };
                gemm_packed_a(
                    &params,
                    packed,
                    MatRef::row_major(xg, self.cg, pixels)?,
                    MatMut::row_major(cols, rows, pixels)?,
                )?;
                self.col2im(cols, &mut y[g * self.mg * plane..(g + 1) * self.mg * plane]);
            }
        }
        Ok(())
    }
}

pub fn lower(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let (Some(x), Some(w), Some(y)) = (ctx.input(0), ctx.input(1), ctx.output(0)) else {
        return Ok(None);
    };
    let Some(op) = ctx.op().downcast_ref::<ConvTranspose>() else {
        return Ok(None);
    };
    if !ctx.all_f32() || x.shape.len() != 4 {
        return Ok(None);
    }
    let Some(weights) = ctx.konst(1) else {
        return Ok(None);
    };
    let Ok(s) = op.shape(&x.shape, &w.shape) else {
        return Ok(None);
    };
    if s.out_shape != y.shape {
        return Ok(None);
    }
    let bias = match ctx.konst(2) {
        Some(b) if b.len() == s.m => Some(b.as_slice::<f32>()?.to_vec()),
        Some(_) => return Ok(None),
        None if ctx.input(2).is_some() => return Ok(None),
        None => None,
    };
    let (cg, mg) = (s.c / s.group, s.m / s.group);
    let taps = w.shape[2] * w.shape[3];
    let wd = weights.as_slice::<f32>()?;
    let per = cg * mg * taps;
    let packed = (0..s.group)
        .map(|g| {
            let wg = MatRef::row_major(&wd[g * per..(g + 1) * per], cg, mg * taps)?;
            PackedA::new(wg.t())
        })
        .collect::<edgeopt_kernels::Result<Vec<_>>>()?;
    let mut axes = s.axes.into_iter();
    let (Some(h), Some(wa)) = (axes.next(), axes.next()) else {
        return Ok(None);
    };
    Ok(Some(Box::new(ConvT {
        batch: s.n,
        cg,
        mg,
        packed,
        bias,
        h,
        w: wa,
    })))
}
