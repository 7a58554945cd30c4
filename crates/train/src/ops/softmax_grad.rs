//! Softmax / LogSoftmax gradient from the forward output `Y`:
//! softmax `dX = Y * (dY - sum(dY * Y))`, log-softmax `dX = dY - exp(Y) * sum(dY)`.

use super::util::{f32_in, infer_like, numel, out};
use super::DOMAIN;
use edgeopt_ir::{bail, EvalCtx, InferCtx, Inputs, Op, Result, Value, ValueType};

/// SoftmaxGrad(dY, Y) -> dX.
#[derive(Clone, Debug)]
pub struct SoftmaxGrad {
    pub axis: i64,
    pub log: bool,
    /// Opset < 13 semantics: the input is coerced to 2-D at `axis`.
    pub flatten: bool,
}

impl Op for SoftmaxGrad {
    fn op_type(&self) -> &str {
        if self.log {
            "LogSoftmaxGrad"
        } else {
            "SoftmaxGrad"
        }
    }
    fn domain(&self) -> &str {
        DOMAIN
    }
    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        infer_like(ctx, &[1])
    }
    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (dy, sdy) = f32_in("SoftmaxGrad", inputs, 0)?;
        let (y, sy) = f32_in("SoftmaxGrad", inputs, 1)?;
        let r = sy.len() as i64;
        let axis = if self.axis < 0 {
            self.axis + r
        } else {
            self.axis
        };
        if sdy != sy || axis < 0 || axis >= r.max(1) {
            bail!("SoftmaxGrad: dY {sdy:?}, Y {sy:?}, axis {}", self.axis);
        }
        let a = axis as usize;
        let (len, stride) = if self.flatten {
            (numel(&sy[a..]), 1)
        } else {
            (sy.get(a).copied().unwrap_or(1), numel(&sy[a + 1..]))
        };
        let outer = numel(&sy[..a]);
        let mut dx = vec![0f32; y.len()];
        for o in 0..outer {
            for s in 0..stride {
                let idx = |k: usize| (o * len + k) * stride + s;
                if self.log {
                    let sum: f32 = (0..len).map(|k| dy[idx(k)]).sum();
                    for k in 0..len {
                        dx[idx(k)] = dy[idx(k)] - y[idx(k)].exp() * sum;
                    }
                } else {
                    let dot: f32 = (0..len).map(|k| dy[idx(k)] * y[idx(k)]).sum();
                    for k in 0..len {
                        dx[idx(k)] = y[idx(k)] * (dy[idx(k)] - dot);
                    }
                }
            }
        }
        Ok(vec![out(sy, dx)?])
    }
}
