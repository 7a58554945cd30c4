//! Fake quantization for quantization-aware training: `Y = (clamp(round(X / s) + z, qmin, qmax)
//! - z) * s`, per tensor or per channel, with a straight-through-estimator gradient: `dX = dY`
//! where `round(X / s) + z` lies inside `[qmin, qmax]`, 0 outside.

use super::util::{f32_in, infer_like, numel, out};
use super::DOMAIN;
use edgeopt_ir::{bail, EvalCtx, InferCtx, Inputs, Op, Result, Value, ValueType};

/// FakeQuant(X, scale, zero_point) -> Y. `scale`/`zero_point` (f32) have one element (per
/// tensor) or `X.shape[axis]` elements (per channel, `axis` set).
#[derive(Clone, Debug)]
pub struct FakeQuant {
    pub axis: Option<i64>,
    pub qmin: f32,
    pub qmax: f32,
}

/// FakeQuantGrad(dY, X, scale, zero_point) -> dX, the straight-through estimator.
#[derive(Clone, Debug)]
pub struct FakeQuantGrad {
    pub fq: FakeQuant,
}

impl FakeQuant {
    /// Signed int8 `[-128, 127]`, per tensor.
    pub fn int8() -> Self {
        FakeQuant {
            axis: None,
            qmin: -128.0,
            qmax: 127.0,
        }
    }

    /// Calls `f(i, q, s, z)` for each element with its unclamped quantized value.
    fn walk(
        &self,
        op: &str,
        inputs: &Inputs,
        x_at: usize,
        mut f: impl FnMut(usize, f32, f32, f32),
    ) -> Result<()> {
        let (x, sx) = f32_in(op, inputs, x_at)?;
        let (s, _) = f32_in(op, inputs, x_at + 1)?;
        let (z, _) = f32_in(op, inputs, x_at + 2)?;
        let (len, stride) = match self.axis {
            None => (1, 1),
            Some(a) => {
                let a = if a < 0 { a + sx.len() as i64 } else { a };
                if a < 0 || a as usize >= sx.len() {
                    bail!("{op}: axis {a} out of range for X {sx:?}");
                }
                (sx[a as usize], numel(&sx[a as usize + 1..]))
            }
        };
        if s.len() != len || z.len() != len || s.iter().any(|&v| !(v > 0.0 && v.is_finite())) {
            bail!("{op}: scale and zero_point need {len} elements and scales must be > 0 (X {sx:?}, axis {:?})", self.axis);
        }
        for (i, &v) in x.iter().enumerate() {
            let c = (i / stride) % len;
            f(i, (v / s[c]).round_ties_even() + z[c], s[c], z[c]);
        }
        Ok(())
    }
}

impl Op for FakeQuant {
    fn op_type(&self) -> &str {
        "FakeQuant"
    }
    fn domain(&self) -> &str {
        DOMAIN
    }
    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        infer_like(ctx, &[0])
    }
    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let sx = inputs.tensor(0)?.shape().to_vec();
        let mut y = vec![0f32; numel(&sx)];
        self.walk("FakeQuant", inputs, 0, |i, q, s, z| {
            y[i] = (q.clamp(self.qmin, self.qmax) - z) * s;
        })?;
        Ok(vec![out(&sx, y)?])
    }
    fn attributes(&self) -> Vec<(String, edgeopt_ir::Attribute)> {
        edgeopt_ir::AttrList::default()
            .opt_int("axis", self.axis)
            .float("qmin", self.qmin)
            .float("qmax", self.qmax)
            .build()
    }
}

impl Op for FakeQuantGrad {
    fn op_type(&self) -> &str {
        "FakeQuantGrad"
    }
    fn domain(&self) -> &str {
        DOMAIN
    }
    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        infer_like(ctx, &[1])
    }
    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (dy, sdy) = f32_in("FakeQuantGrad", inputs, 0)?;
        if sdy != inputs.tensor(1)?.shape() {
            bail!(
                "FakeQuantGrad: dY {sdy:?} and X {:?} differ",
                inputs.tensor(1)?.shape()
            );
        }
        let mut dx = vec![0f32; dy.len()];
        let (lo, hi) = (self.fq.qmin, self.fq.qmax);
        self.fq.walk("FakeQuantGrad", inputs, 1, |i, q, _, _| {
            if q >= lo && q <= hi {
                dx[i] = dy[i];
            }
        })?;
        Ok(vec![out(sdy, dx)?])
    }
}
