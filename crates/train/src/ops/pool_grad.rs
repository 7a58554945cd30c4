//! Pooling gradients. Window offsets are computed once per call for one `(n, c)` plane and
//! reused for every plane.

use super::util::{f32_in, infer_like, numel, out};
use super::DOMAIN;
use edgeopt_ir::ops::nn::common::Axis;
use edgeopt_ir::ops::nn::pooling::{for_each_window, PoolAttrs};
use edgeopt_ir::{bail, EvalCtx, InferCtx, Inputs, Op, Result, Value, ValueType};

/// Which pooling the gradient is for.
#[derive(Clone, Debug)]
pub enum PoolKind {
    /// Routes each output gradient to the first maximum of its window (the forward's choice).
    Max,
    /// Spreads each output gradient evenly; `include_pad` divides by the padded window size.
    Average { include_pad: bool },
}

/// PoolGrad(dY, X) -> dX for MaxPool / AveragePool with the forward's attributes.
#[derive(Clone, Debug)]
pub struct PoolGrad {
    pub pool: PoolAttrs,
    pub kind: PoolKind,
}

/// The pooling windows of one `(n, c)` plane: input offsets of window `k` are
/// `offsets[starts[k]..starts[k + 1]]`, `padded[k]` its size counting padding.
#[derive(Clone, Debug, Default)]
pub struct Windows {
    starts: Vec<usize>,
    offsets: Vec<usize>,
    padded: Vec<usize>,
    /// 2-D max windows without padding or dilation, looped over directly.
    direct: Option<Direct>,
}

/// `[kh, kw]` windows at strides `[sh, sw]` over an `[ih, iw]` plane giving `[oh, ow]`.
#[derive(Clone, Copy, Debug)]
struct Direct {
    k: [usize; 2],
    s: [usize; 2],
    iw: usize,
    o: [usize; 2],
    /// Disjoint 2x2 windows tiling the whole plane: every input cell is written.
    tiles: bool,
}

impl Direct {
    fn of(axes: &[Axis]) -> Option<Direct> {
        let [h, w] = axes else { return None };
        let plain = |a: &Axis| {
            a.dilation == 1
                && a.pad_begin == 0
                && a.pad_end == 0
                && (a.output.max(1) - 1) * a.stride + a.kernel <= a.input
        };
        (plain(h) && plain(w)).then_some(Direct {
            k: [h.kernel, w.kernel],
            s: [h.stride, w.stride],
            iw: w.input,
            o: [h.output, w.output],
            tiles: [h.kernel, w.kernel, h.stride, w.stride] == [2; 4]
                && 2 * h.output == h.input
                && 2 * w.output == w.input,
        })
    }

    /// Routes each `dy` to the first maximum of its window in `x` (one plane; `dx` zeroed
    /// unless the windows tile the plane).
    fn max_backward(&self, dy: &[f32], x: &[f32], dx: &mut [f32]) {
        let ([kh, kw], [sh, sw], iw, [oh, ow]) = (self.k, self.s, self.iw, self.o);
        if [kh, kw, sh, sw] == [2; 4] {
            // Branch-free 2x2 / stride 2: windows are disjoint, every cell is written once.
            let w2 = 2 * ow;
            for (oy, g) in dy.chunks_exact(ow).enumerate().take(oh) {
                let (r0, r1) = (2 * oy * iw, (2 * oy + 1) * iw);
                let (top, bottom) = dx[r0..r1 + w2].split_at_mut(iw);
                let rows = x[r0..r0 + w2]
                    .chunks_exact(2)
                    .zip(x[r1..r1 + w2].chunks_exact(2))
                    .zip(top[..w2].chunks_exact_mut(2))
                    .zip(bottom[..w2].chunks_exact_mut(2))
                    .zip(g);
                for ((((xa, xb), da), db), &g) in rows {
                    // First maximum in the order xa[0], xa[1], xb[0], xb[1].
                    let (ab, iab) = if xa[1] > xa[0] {
                        (xa[1], 1u8)
                    } else {
                        (xa[0], 0)
                    };
                    let (cd, icd) = if xb[1] > xb[0] {
                        (xb[1], 3u8)
                    } else {
                        (xb[0], 2)
                    };
                    let k = if cd > ab { icd } else { iab };
                    da[0] = if k == 0 { g } else { 0.0 };
                    da[1] = if k == 1 { g } else { 0.0 };
                    db[0] = if k == 2 { g } else { 0.0 };
                    db[1] = if k == 3 { g } else { 0.0 };
                }
            }
            return;
        }
        for oy in 0..oh {
            for ox in 0..ow {
                let base = oy * sh * iw + ox * sw;
                let mut best = base;
                for ky in 0..kh {
                    for kx in 0..kw {
                        let o = base + ky * iw + kx;
                        if x[o] > x[best] {
                            best = o;
                        }
                    }
                }
                dx[best] += dy[oy * ow + ox];
            }
        }
    }
}

impl Windows {
    /// The windows of a pooling over `axes`.
    pub fn new(axes: &[Axis]) -> Windows {
        let mut w = Windows {
            starts: vec![0],
            ..Windows::default()
        };
        w.direct = Direct::of(axes);
        for_each_window(axes, |_, offs, padded| {
            w.offsets.extend_from_slice(offs);
            w.starts.push(w.offsets.len());
            w.padded.push(padded);
        });
        w
    }

    /// Windows per plane.
    pub fn len(&self) -> usize {
        self.padded.len()
    }

    /// Whether there are no windows.
    pub fn is_empty(&self) -> bool {
        self.padded.is_empty()
    }
}

impl PoolKind {
    /// `dx` (zeroed here) from `dy` and the forward input `x`, `plane` inputs per plane.
    pub fn backward(&self, win: &Windows, plane: usize, dy: &[f32], x: &[f32], dx: &mut [f32]) {
        let tiled = matches!(self, PoolKind::Max) && win.direct.is_some_and(|d| d.tiles);
        if !tiled {
            dx.fill(0.0);
        }
        let p = win.len();
        if p == 0 || plane == 0 {
            return;
        }
        for ((xs, dxs), dys) in x
            .chunks_exact(plane)
            .zip(dx.chunks_exact_mut(plane))
            .zip(dy.chunks_exact(p))
        {
            if let (PoolKind::Max, Some(d)) = (self, &win.direct) {
                d.max_backward(dys, xs, dxs);
                continue;
            }
            for (k, &g) in dys.iter().enumerate() {
                let offs = &win.offsets[win.starts[k]..win.starts[k + 1]];
                match *self {
                    PoolKind::Max => {
                        let mut best: Option<usize> = None;
                        for &o in offs {
                            if best.is_none_or(|b| xs[o] > xs[b]) {
                                best = Some(o);
                            }
                        }
                        if let Some(b) = best {
                            dxs[b] += g;
                        }
                    }
                    PoolKind::Average { include_pad } => {
                        let div = if include_pad {
                            win.padded[k]
                        } else {
                            offs.len()
                        };
                        if div > 0 {
                            let share = g / div as f32;
                            for &o in offs {
                                dxs[o] += share;
                            }
                        }
                    }
                }
            }
        }
    }
}

impl Op for PoolGrad {
    fn op_type(&self) -> &str {
        match self.kind {
            PoolKind::Max => "MaxPoolGrad",
            PoolKind::Average { .. } => "AveragePoolGrad",
        }
    }
    fn domain(&self) -> &str {
        DOMAIN
    }
    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        infer_like(ctx, &[1])
    }
    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let name = self.op_type().to_string();
        let (dy, sdy) = f32_in(&name, inputs, 0)?;
        let (x, sx) = f32_in(&name, inputs, 1)?;
        let axes = self.pool.axes(&name, sx)?;
        let mut expect = sx[..2].to_vec();
        expect.extend(axes.iter().map(|a| a.output));
        if sdy != expect.as_slice() {
            bail!("{name}: dY {sdy:?} does not match the pooled shape {expect:?} of X {sx:?}");
        }
        let win = Windows::new(&axes);
        let mut dx = vec![0f32; x.len()];
        self.kind.backward(&win, numel(&sx[2..]), dy, x, &mut dx);
        Ok(vec![out(sx, dx)?])
    }
}

/// GlobalAveragePoolGrad(dY, X) -> dX: each plane gets its output gradient / plane size.
#[derive(Clone, Debug)]
pub struct GlobalAveragePoolGrad;

impl Op for GlobalAveragePoolGrad {
    fn op_type(&self) -> &str {
        "GlobalAveragePoolGrad"
    }
    fn domain(&self) -> &str {
        DOMAIN
    }
    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        infer_like(ctx, &[1])
    }
    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (dy, sdy) = f32_in("GlobalAveragePoolGrad", inputs, 0)?;
        let sx = inputs.tensor(1)?.shape().to_vec();
        if sx.len() < 3 || numel(sdy) != sx[0] * sx[1] {
            bail!("GlobalAveragePoolGrad: dY {sdy:?} does not fit X {sx:?}");
        }
        let plane = numel(&sx[2..]);
        let mut dx = vec![0f32; numel(&sx)];
        for (chunk, &g) in dx.chunks_mut(plane.max(1)).zip(dy) {
            chunk.fill(g / plane as f32);
        }
        Ok(vec![out(&sx, dx)?])
    }
}
