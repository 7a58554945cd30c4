//! MaxPool, AveragePool (1-D/2-D, pads, strides, dilations, ceil_mode, count_include_pad) and
//! GlobalAveragePool / GlobalMaxPool on NCHW f32.

use super::LowerCtx;
use crate::{Io, Kernel, Result};
use edgeopt_ir::ops::nn::average_pool::AveragePool;
use edgeopt_ir::ops::nn::common::Axis;
use edgeopt_ir::ops::nn::max_pool::MaxPool;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Max,
    Avg { include_pad: bool },
}

struct Global {
    max: bool,
    planes: usize,
    size: usize,
}

impl Kernel for Global {
    fn name(&self) -> &'static str {
        "pool.global"
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let x = io.input(0);
        let y = io.output(0);
        for (p, out) in y.iter_mut().enumerate().take(self.planes) {
            let s = &x[p * self.size..(p + 1) * self.size];
            *out = if self.max {
                s.iter().copied().fold(f32::NEG_INFINITY, f32::max)
            } else {
                // Lanes of partial sums, then a fixed-order reduction.
                let mut acc = [0f32; 8];
                let chunks = s.chunks_exact(8);
                let rem: f32 = chunks.remainder().iter().sum();
                for c in chunks {
                    for j in 0..8 {
                        acc[j] += c[j];
                    }
                }
                (acc.iter().sum::<f32>() + rem) / self.size as f32
            };
        }
        Ok(())
    }
}

struct Window {
    kind: Kind,
    planes: usize,
    h: Axis,
    w: Axis,
    /// Workspace of the separable max pooling (padded row, row maxima), sized at lowering.
    rows: SeparableMax,
}

impl Kernel for Window {
    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Max => "pool.max",
            Kind::Avg { .. } => "pool.avg",
        }
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let (h, w) = (self.h, self.w);
        let x = io.input(0);
        let y = io.output(0);
        let (ip, op) = (h.input * w.input, h.output * w.output);
        if self.kind == Kind::Max && inside(h) && inside(w) {
            for p in 0..self.planes {
                max_inside(&x[p * ip..(p + 1) * ip], &mut y[p * op..(p + 1) * op], h, w);
            }
            return Ok(());
        }
        if self.kind == Kind::Max {
            for p in 0..self.planes {
                let (xp, yp) = (&x[p * ip..(p + 1) * ip], &mut y[p * op..(p + 1) * op]);
                self.rows.plane(xp, yp, h, w);
            }
            return Ok(());
        }
        for p in 0..self.planes {
            let (xp, yp) = (&x[p * ip..(p + 1) * ip], &mut y[p * op..(p + 1) * op]);
            window_direct(self.kind, xp, yp, h, w);
        }
        Ok(())
    }
}

/// One plane, window by window with bounds checks: any pads, strides, dilations, both
/// kinds; the twin the faster max paths are tested against.
fn window_direct(kind: Kind, xp: &[f32], yp: &mut [f32], h: Axis, w: Axis) {
    for oy in 0..h.output {
        for ox in 0..w.output {
            let (mut acc, mut n, mut total) = (
                if kind == Kind::Max {
                    f32::NEG_INFINITY
                } else {
                    0.0
                },
                0usize,
                0usize,
            );
            for ky in 0..h.kernel {
                let iy = (oy * h.stride + ky * h.dilation) as isize - h.pad_begin as isize;
                let y_in = iy >= 0 && (iy as usize) < h.input;
                let y_pad = iy < (h.input + h.pad_end) as isize;
                for kx in 0..w.kernel {
                    let ix = (ox * w.stride + kx * w.dilation) as isize - w.pad_begin as isize;
                    let x_in = ix >= 0 && (ix as usize) < w.input;
                    if y_pad && ix < (w.input + w.pad_end) as isize {
                        total += 1;
                    }
                    if y_in && x_in {
                        let v = xp[iy as usize * w.input + ix as usize];
                        match kind {
                            Kind::Max => acc = acc.max(v),
                            Kind::Avg { .. } => acc += v,
                        }
                        n += 1;
                    }
                }
            }
            yp[oy * w.output + ox] = match kind {
                Kind::Max => acc,
                Kind::Avg { include_pad: true } => acc / total.max(1) as f32,
                Kind::Avg { include_pad: false } => acc / n.max(1) as f32,
            };
        }
    }
}

/// Every window of the axis lies inside the input: no padding to skip or count.
fn inside(a: Axis) -> bool {
    a.pad_begin == 0
        && a.output > 0
        && (a.output - 1) * a.stride + (a.kernel - 1) * a.dilation < a.input
}

/// Max pooling of one plane whose windows are all inside it (no bounds checks).
fn max_inside(xp: &[f32], yp: &mut [f32], h: Axis, w: Axis) {
    let wi = w.input;
    if h.kernel == 2 && w.kernel == 2 && h.dilation == 1 && w.dilation == 1 && w.stride == 2 {
        return max_2x2_s2(xp, yp, h, w);
    }
    if h.kernel == 2 && w.kernel == 2 && h.dilation == 1 && w.dilation == 1 {
        for oy in 0..h.output {
            let r0 = &xp[oy * h.stride * wi..][..wi];
            let r1 = &xp[(oy * h.stride + 1) * wi..][..wi];
            let row = &mut yp[oy * w.output..(oy + 1) * w.output];
            for (ox, out) in row.iter_mut().enumerate() {
                let i = ox * w.stride;
                *out = r0[i].max(r0[i + 1]).max(r1[i].max(r1[i + 1]));
            }
        }
        return;
    }
    for oy in 0..h.output {
        let row = &mut yp[oy * w.output..(oy + 1) * w.output];
        row.fill(f32::NEG_INFINITY);
        for ky in 0..h.kernel {
            let r = &xp[(oy * h.stride + ky * h.dilation) * wi..][..wi];
            for kx in 0..w.kernel {
                let off = kx * w.dilation;
                for (ox, out) in row.iter_mut().enumerate() {
                    *out = out.max(r[ox * w.stride + off]);
                }
            }
        }
    }
}

/// 2x2 windows at horizontal stride 2 (the usual down-sampling MaxPool): the two rows' maximum
/// into a buffer, then the maximum of each pair; both loops vectorize (the general loop's
/// stride-2 gathers do not).
fn max_2x2_s2(xp: &[f32], yp: &mut [f32], h: Axis, w: Axis) {
    const CHUNK: usize = 64;
    let (wi, ow) = (w.input, w.output);
    let mut v = [0f32; 2 * CHUNK];
    for oy in 0..h.output {
        // Inside: 2 * (ow - 1) + 1 < wi, so the two rows hold 2 * ow columns.
        let r0 = &xp[oy * h.stride * wi..][..2 * ow];
        let r1 = &xp[(oy * h.stride + 1) * wi..][..2 * ow];
        let row = &mut yp[oy * ow..(oy + 1) * ow];
        for ((a, b), out) in r0
            .chunks(2 * CHUNK)
            .zip(r1.chunks(2 * CHUNK))
            .zip(row.chunks_mut(CHUNK))
        {
            let v = &mut v[..a.len()];
            for ((v, &a), &b) in v.iter_mut().zip(a).zip(b) {
                *v = a.max(b);
            }
            for (o, pair) in out.iter_mut().zip(v.chunks_exact(2)) {
                *o = pair[0].max(pair[1]);
            }
        }
    }
}

/// Max pooling with padding (or windows past the input, from `ceil_mode`) in two passes per
/// output row: the maximum down the window's input rows, over whole rows (contiguous, so it
/// vectorizes) into a row padded with -inf, then along that row's windows. Neither pass has
/// a bounds check; ResNet-18's 3x3/2 MaxPool at 112x112 went from 9 bounds-checked reads per
/// output to 1.5 vector and 3 branch-free scalar ones. The max of a window does not depend
/// on the order its elements are visited (NaN is skipped, as `f32::max` does), so results
/// equal the direct loop's.
struct SeparableMax {
    /// Column maxima of one output row's input rows: `pad_begin` -inf, the input row's
    /// width, then -inf up to the last window's end.
    padded: Vec<f32>,
}

impl SeparableMax {
    fn new(_h: Axis, w: Axis) -> SeparableMax {
        let span = w.output.saturating_sub(1) * w.stride + (w.kernel - 1) * w.dilation + 1;
        SeparableMax {
            padded: vec![f32::NEG_INFINITY; span.max(w.pad_begin + w.input)],
        }
    }

    fn plane(&mut self, xp: &[f32], yp: &mut [f32], h: Axis, w: Axis) {
        let (wi, wo) = (w.input, w.output);
        if wo == 0 || h.output == 0 {
            return;
        }
        for (oy, out) in yp.chunks_exact_mut(wo).enumerate() {
            let cols = &mut self.padded[w.pad_begin..w.pad_begin + wi];
            cols.fill(f32::NEG_INFINITY);
            for ky in 0..h.kernel {
                let iy = (oy * h.stride + ky * h.dilation) as isize - h.pad_begin as isize;
                if iy < 0 || iy as usize >= h.input {
                    continue;
                }
                let src = &xp[iy as usize * wi..][..wi];
                for (c, &v) in cols.iter_mut().zip(src) {
                    *c = c.max(v);
                }
            }
            // One window at a time with the maximum in a register (`f32::max` is branch-free;
            // a compare-and-branch mispredicts on every other element of random data).
            for (ox, o) in out.iter_mut().enumerate() {
                let win = &self.padded[ox * w.stride..];
                let mut m = f32::NEG_INFINITY;
                for kx in 0..w.kernel {
                    m = m.max(win[kx * w.dilation]);
                }
                *o = m;
            }
        }
    }
}

pub fn lower(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let (Some(x), Some(y)) = (ctx.input(0), ctx.output(0)) else {
        return Ok(None);
    };
    if !ctx.all_f32() || ctx.node.outputs.len() != 1 || !(3..=4).contains(&x.shape.len()) {
        return Ok(None);
    }
    let planes = x.shape[0] * x.shape[1];
    let size: usize = x.shape[2..].iter().product();
    let op = ctx.op().op_type();
    if op == "GlobalAveragePool" || op == "GlobalMaxPool" {
        return Ok(Some(Box::new(Global {
            max: op == "GlobalMaxPool",
            planes,
            size,
        })));
    }
    let (pool, kind) = if let Some(m) = ctx.op().downcast_ref::<MaxPool>() {
        if m.storage_order.unwrap_or(0) != 0 {
            return Ok(None);
        }
        (&m.pool, Kind::Max)
    } else if let Some(a) = ctx.op().downcast_ref::<AveragePool>() {
        let include_pad = a.count_include_pad.unwrap_or(0) != 0;
        (&a.pool, Kind::Avg { include_pad })
    } else {
        return Ok(None);
    };
    let nd = x.shape.len() - 2;
    let Ok(win) = pool
        .window
        .resolve(op, nd, None, pool.ceil_mode.unwrap_or(0) != 0)
    else {
        return Ok(None);
    };
    let axes: Vec<Axis> = match (0..nd)
        .map(|i| win.axis(op, i, x.shape[2 + i]))
        .collect::<std::result::Result<_, _>>()
    {
        Ok(a) => a,
        Err(_) => return Ok(None),
    };
    let one = Axis {
        input: 1,
        output: 1,
        kernel: 1,
        stride: 1,
        dilation: 1,
        pad_begin: 0,
        pad_end: 0,
    };
    let (h, w) = match axes.as_slice() {
        [w] => (one, *w),
        [h, w] => (*h, *w),
        _ => return Ok(None),
    };
    if planes * h.output * w.output != y.numel() {
        return Ok(None);
    }
    let rows = SeparableMax::new(h, w);
    Ok(Some(Box::new(Window {
        kind,
        planes,
        h,
        w,
        rows,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn axis(
        input: usize,
        kernel: usize,
        stride: usize,
        dilation: usize,
        pads: (usize, usize),
        ceil: bool,
    ) -> Option<Axis> {
        let span = input + pads.0 + pads.1;
        let eff = (kernel - 1) * dilation + 1;
        if span < eff {
            return None;
        }
        let steps = span - eff;
        let output = if ceil {
            steps.div_ceil(stride)
        } else {
            steps / stride
        } + 1;
        Some(Axis {
            input,
            output,
            kernel,
            stride,
            dilation,
            pad_begin: pads.0,
            pad_end: pads.1,
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The separable max pooling equals the window-by-window loop on any geometry,
        /// including NaN and infinities in the data.
        #[test]
        fn separable_max_equals_direct(
            (hi, wi) in (1usize..14, 1usize..14),
            (kh, kw, sh, sw, dh, dw) in (1usize..5, 1usize..5, 1usize..4, 1usize..4, 1usize..3, 1usize..3),
            (pt, pb, pl, pr) in (0usize..3, 0usize..3, 0usize..3, 0usize..3),
            ceil in any::<bool>(),
            seed in any::<u64>(),
        ) {
            let (Some(h), Some(w)) = (axis(hi, kh, sh, dh, (pt, pb), ceil), axis(wi, kw, sw, dw, (pl, pr), ceil)) else {
                return Ok(());
            };
            let mut s = seed | 1;
            let x: Vec<f32> = (0..hi * wi).map(|_| {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                match s % 23 { 0 => f32::NAN, 1 => f32::NEG_INFINITY, _ => (s >> 40) as f32 / 1e6 - 8.0 }
            }).collect();
            let mut want = vec![0f32; h.output * w.output];
            window_direct(Kind::Max, &x, &mut want, h, w);
            let mut got = vec![0f32; h.output * w.output];
            SeparableMax::new(h, w).plane(&x, &mut got, h, w);
            for (i, (g, e)) in got.iter().zip(&want).enumerate() {
                prop_assert!(g == e || (g.is_nan() && e.is_nan()), "output {i}: {g} vs {e}");
            }
        }
    }
}
