//! A 1-D or 2-D convolution's geometry and its column-matrix transforms: `im2col` (the
//! forward's gather) and `col2im` (its adjoint, a scatter-add, used by the training engine's
//! gradient kernels), both row by row so the inner loops are contiguous copies and adds for
//! stride 1.

use edgeopt_ir::ops::nn::common::Axis;
use edgeopt_ir::ops::nn::conv::Conv;

/// Sizes of a 2-D convolution (1-D: `in_h = out_h = kernel_h = 1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub batch: usize,
    pub in_c: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub out_c: usize,
    pub out_h: usize,
    pub out_w: usize,
    pub kernel_h: usize,
    pub kernel_w: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub dilation_h: usize,
    pub dilation_w: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    pub groups: usize,
}

impl Geometry {
    /// The geometry of `conv` on X `x` with W `w`, with the bottom and right paddings, and the
    /// output shape. None when the shapes do not fit a 1-D or 2-D convolution.
    pub fn of_conv(
        conv: &Conv,
        x: &[usize],
        w: &[usize],
    ) -> Option<(Geometry, usize, usize, Vec<usize>)> {
        let s = conv.shape(x, w).ok()?;
        if s.group == 0 {
            return None;
        }
        let one = Axis {
            input: 1,
            output: 1,
            kernel: 1,
            stride: 1,
            dilation: 1,
            pad_begin: 0,
            pad_end: 0,
        };
        let (h, wd) = match s.axes.as_slice() {
            [a] => (one, *a),
            [a, b] => (*a, *b),
            _ => return None,
        };
        let g = Geometry {
            batch: s.n,
            in_c: s.c,
            in_h: h.input,
            in_w: wd.input,
            out_c: s.m,
            out_h: h.output,
            out_w: wd.output,
            kernel_h: h.kernel,
            kernel_w: wd.kernel,
            stride_h: h.stride,
            stride_w: wd.stride,
            dilation_h: h.dilation,
            dilation_w: wd.dilation,
            pad_top: h.pad_begin,
            pad_left: wd.pad_begin,
            groups: s.group,
        };
        Some((g, h.pad_end, wd.pad_end, s.out_shape))
    }

    /// A 1x1, stride-1, unpadded convolution: X is its own column matrix.
    pub fn pointwise(&self) -> bool {
        self.kernel_h == 1
            && self.kernel_w == 1
            && self.stride_h == 1
            && self.stride_w == 1
            && self.pad_top == 0
            && self.pad_left == 0
            && self.out_h == self.in_h
            && self.out_w == self.in_w
    }

    /// Input channels per group.
    pub fn cg(&self) -> usize {
        self.in_c / self.groups
    }
    /// Output channels per group.
    pub fn mg(&self) -> usize {
        self.out_c / self.groups
    }
    /// Rows of the column matrix (`cg * kernel_h * kernel_w`).
    pub fn kg(&self) -> usize {
        self.cg() * self.kernel_h * self.kernel_w
    }
    /// Output positions per channel.
    pub fn p(&self) -> usize {
        self.out_h * self.out_w
    }
    /// Input positions per channel.
    pub fn plane(&self) -> usize {
        self.in_h * self.in_w
    }

    /// For kernel column `kx`: the input column offset of output column 0 and the output
    /// columns `[lo, hi)` whose input column lies inside the row.
    fn cols(&self, kx: usize) -> (isize, usize, usize) {
        let xoff = (kx * self.dilation_w) as isize - self.pad_left as isize;
        let sw = self.stride_w;
        let lo = if xoff >= 0 {
            0
        } else {
            ((-xoff) as usize).div_ceil(sw)
        };
        let hi = if (self.in_w as isize) > xoff {
            ((self.in_w as isize - xoff) as usize)
                .div_ceil(sw)
                .min(self.out_w)
        } else {
            0
        };
        (xoff, lo, hi.max(lo))
    }

    /// Input row of output row `oy` at kernel row `ky`, if inside the input.
    fn row(&self, oy: usize, ky: usize) -> Option<usize> {
        let iy = (oy * self.stride_h + ky * self.dilation_h) as isize - self.pad_top as isize;
        (iy >= 0 && iy < self.in_h as isize).then_some(iy as usize)
    }
}

/// Writes the `[cg * kh * kw, oh * ow]` column matrix of `cg` input planes `x`.
pub fn im2col(g: &Geometry, x: &[f32], cg: usize, cols: &mut [f32]) {
    let (iw, ow, p) = (g.in_w, g.out_w, g.p());
    let mut r = 0;
    for c in 0..cg {
        let plane = &x[c * g.plane()..(c + 1) * g.plane()];
        for ky in 0..g.kernel_h {
            for kx in 0..g.kernel_w {
                let dst = &mut cols[r * p..(r + 1) * p];
                r += 1;
                let (xoff, lo, hi) = g.cols(kx);
                for oy in 0..g.out_h {
                    let row = &mut dst[oy * ow..(oy + 1) * ow];
                    let Some(iy) = g.row(oy, ky).filter(|_| lo < hi) else {
                        row.fill(0.0);
                        continue;
                    };
                    let src = &plane[iy * iw..(iy + 1) * iw];
                    row[..lo].fill(0.0);
                    row[hi..].fill(0.0);
                    let start = (lo as isize * g.stride_w as isize + xoff) as usize;
                    if g.stride_w == 1 {
                        row[lo..hi].copy_from_slice(&src[start..start + (hi - lo)]);
                    } else {
                        for (j, v) in row[lo..hi].iter_mut().enumerate() {
                            *v = src[start + j * g.stride_w];
                        }
                    }
                }
            }
        }
    }
}

/// Adds the column matrix `cols` back onto the `cg` input planes `dx` (adjoint of [`im2col`]).
pub fn col2im(g: &Geometry, cols: &[f32], cg: usize, dx: &mut [f32]) {
    let (iw, ow, p) = (g.in_w, g.out_w, g.p());
    let mut r = 0;
    for c in 0..cg {
        let plane = &mut dx[c * g.plane()..(c + 1) * g.plane()];
        for ky in 0..g.kernel_h {
            for kx in 0..g.kernel_w {
                let src = &cols[r * p..(r + 1) * p];
                r += 1;
                let (xoff, lo, hi) = g.cols(kx);
                if lo >= hi {
                    continue;
                }
                for oy in 0..g.out_h {
                    let Some(iy) = g.row(oy, ky) else { continue };
                    let row = &src[oy * ow + lo..oy * ow + hi];
                    let dst = &mut plane[iy * iw..(iy + 1) * iw];
                    let start = (lo as isize * g.stride_w as isize + xoff) as usize;
                    if g.stride_w == 1 {
                        for (d, &v) in dst[start..start + row.len()].iter_mut().zip(row) {
                            *d += v;
                        }
                    } else {
                        for (j, &v) in row.iter().enumerate() {
                            dst[start + j * g.stride_w] += v;
                        }
                    }
                }
            }
        }
    }
}
