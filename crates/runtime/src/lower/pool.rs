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
        for p in 0..self.planes {
            let xp = &x[p * ip..(p + 1) * ip];
            let yp = &mut y[p * op..(p + 1) * op];
            for oy in 0..h.output {
                for ox in 0..w.output {
                    let (mut acc, mut n, mut total) = (
                        if self.kind == Kind::Max {
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
                            let ix =
                                (ox * w.stride + kx * w.dilation) as isize - w.pad_begin as isize;
                            let x_in = ix >= 0 && (ix as usize) < w.input;
                            if y_pad && ix < (w.input + w.pad_end) as isize {
                                total += 1;
                            }
                            if y_in && x_in {
                                let v = xp[iy as usize * w.input + ix as usize];
                                match self.kind {
                                    Kind::Max => acc = acc.max(v),
                                    Kind::Avg { .. } => acc += v,
                                }
                                n += 1;
                            }
                        }
                    }
                    yp[oy * w.output + ox] = match self.kind {
                        Kind::Max => acc,
                        Kind::Avg { include_pad: true } => acc / total.max(1) as f32,
                        Kind::Avg { include_pad: false } => acc / n.max(1) as f32,
                    };
                }
            }
        }
        Ok(())
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
    Ok(Some(Box::new(Window { kind, planes, h, w })))
}
