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

fn windows(axes: &[Axis]) -> Vec<(Vec<usize>, usize)> {
    let mut w = Vec::new();
    for_each_window(axes, |_, offs, padded| w.push((offs.to_vec(), padded)));
    w
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
        let win = windows(&axes);
        let (planes, plane, p) = (sx[0] * sx[1], numel(&sx[2..]), win.len());
        let mut dx = vec![0f32; x.len()];
        for pl in 0..planes {
            let xs = &x[pl * plane..(pl + 1) * plane];
            let dxs = &mut dx[pl * plane..(pl + 1) * plane];
            let dys = &dy[pl * p..(pl + 1) * p];
            for ((offs, padded), &g) in win.iter().zip(dys) {
                match self.kind {
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
                        let div = if include_pad { *padded } else { offs.len() };
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
