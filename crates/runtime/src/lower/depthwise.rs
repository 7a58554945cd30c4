//! Depthwise convolution (groups = in = out channels): direct, one output row at a time,
//! each kernel tap a contiguous (stride 1) or strided multiply-add over the row, so the row
//! stays in L1. Compiled twice: portable, and with AVX2+FMA picked at run time.

use super::act::PostActivation;
use super::conv::Geometry;
use crate::{Io, Kernel, Result};
use edgeopt_kernels::kernels;

pub struct Depthwise {
    g: Geometry,
    weights: Option<Vec<f32>>,
    bias: Option<Vec<f32>>,
    act: PostActivation,
    /// Per kernel column: the output column range whose input column is inside the row.
    ranges: Vec<(usize, usize)>,
}

impl Depthwise {
    pub fn new(
        g: Geometry,
        weights: Option<Vec<f32>>,
        bias: Option<Vec<f32>>,
        act: PostActivation,
    ) -> Depthwise {
        let ranges = (0..g.kernel_w)
            .map(|kx| {
                let xoff = (kx * g.dilation_w) as isize - g.pad_left as isize;
                let lo = if xoff >= 0 {
                    0
                } else {
                    ((-xoff) as usize).div_ceil(g.stride_w)
                };
                let hi = if (g.in_w as isize) > xoff {
                    ((g.in_w as isize - xoff) as usize)
                        .div_ceil(g.stride_w)
                        .min(g.out_w)
                } else {
                    0
                };
                (lo.min(hi), hi)
            })
            .collect();
        Depthwise {
            g,
            weights,
            bias,
            act,
            ranges,
        }
    }
}

#[inline(always)]
fn plane_body(
    g: &Geometry,
    ranges: &[(usize, usize)],
    x: &[f32],
    w: &[f32],
    b: f32,
    y: &mut [f32],
    fma: bool,
) {
    let (iw, ow, sw) = (g.in_w, g.out_w, g.stride_w);
    for oy in 0..g.out_h {
        let row = &mut y[oy * ow..(oy + 1) * ow];
        row.fill(b);
        for ky in 0..g.kernel_h {
            let iy = (oy * g.stride_h + ky * g.dilation_h) as isize - g.pad_top as isize;
            if iy < 0 || iy >= g.in_h as isize {
                continue;
            }
            let src = &x[iy as usize * iw..(iy as usize + 1) * iw];
            for (kx, &(lo, hi)) in ranges.iter().enumerate() {
                if lo >= hi {
                    continue;
                }
                let wv = w[ky * g.kernel_w + kx];
                let start = (lo * sw + kx * g.dilation_w) - g.pad_left;
                let out = &mut row[lo..hi];
                if sw == 1 {
                    let s = &src[start..start + out.len()];
                    for (o, &v) in out.iter_mut().zip(s) {
                        *o = if fma { v.mul_add(wv, *o) } else { *o + v * wv };
                    }
                } else {
                    for (j, o) in out.iter_mut().enumerate() {
                        let v = src[start + j * sw];
                        *o = if fma { v.mul_add(wv, *o) } else { *o + v * wv };
                    }
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn plane_fma(
    g: &Geometry,
    ranges: &[(usize, usize)],
    x: &[f32],
    w: &[f32],
    b: f32,
    y: &mut [f32],
) {
    plane_body(g, ranges, x, w, b, y, true)
}

fn plane(g: &Geometry, ranges: &[(usize, usize)], x: &[f32], w: &[f32], b: f32, y: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if super::gemv::has_fma() {
        // SAFETY: the CPU has AVX2 and FMA.
        return unsafe { plane_fma(g, ranges, x, w, b, y) };
    }
    plane_body(g, ranges, x, w, b, y, false)
}

impl Kernel for Depthwise {
    fn name(&self) -> &'static str {
        "conv.depthwise"
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let g = self.g;
        let x = io.input(0);
        let w = self.weights.as_deref().unwrap_or(io.input(1));
        let bias = self.bias.as_deref().unwrap_or(io.input(2));
        let y = io.output(0);
        let (ip, op, kk) = (g.in_h * g.in_w, g.out_h * g.out_w, g.kernel_h * g.kernel_w);
        for img in 0..g.batch {
            for c in 0..g.out_c {
                let i = img * g.out_c + c;
                let b = bias.get(c).copied().unwrap_or(0.0);
                let yp = &mut y[i * op..(i + 1) * op];
                plane(
                    &g,
                    &self.ranges,
                    &x[i * ip..(i + 1) * ip],
                    &w[c * kk..(c + 1) * kk],
                    b,
                    yp,
                );
            }
        }
        if self.act.fused != edgeopt_kernels::Activation::None {
            kernels().activate(y, self.act.fused)?;
        }
        self.act.apply_post(y, op, g.out_c);
        Ok(())
    }
}
