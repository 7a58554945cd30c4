//! SwiGLU (opset 28): gated linear unit with a Swish gate, `Y = A * sigmoid(alpha * A) * B`.
//! Spec: <https://onnx.ai/onnx/operators/onnx__SwiGLU.html>
//!
//! Inputs: A (gate) and B (value), same shape and float dtype (no broadcasting).
//! Attribute: `alpha` (default 1.0) scales A inside the sigmoid.
//! Output: Y, shaped like A. Intermediates round to the input precision like the reference.

use super::common::rounder;
use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::util::same_as;
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, Value, ValueType};
use edgeopt_tensor::Tensor;

#[derive(Clone, Debug)]
pub struct SwiGlu {
    pub alpha: f32,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(SwiGlu {
        alpha: ctx.attrs.float_or("alpha", 1.0)?,
    }))
}

impl Op for SwiGlu {
    fn op_type(&self) -> &str {
        "SwiGLU"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let (a, b) = (ctx.tensor(0), ctx.tensor(1));
        if let (Some(x), Some(y)) = (a.dtype, b.dtype) {
            if x != y {
                bail!("SwiGLU: A is {x} but B is {y}");
            }
        }
        if let (Some(x), Some(y)) = (a.concrete_shape(), b.concrete_shape()) {
            if x != y {
                bail!("SwiGLU: A {x:?} and B {y:?} must have the same shape");
            }
        }
        Ok(vec![same_as(ctx.inputs, 0)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (a, b) = (inputs.tensor(0)?, inputs.tensor(1)?);
        if a.shape() != b.shape() || a.dtype() != b.dtype() {
            bail!(
                "SwiGLU: A {} {:?} and B {} {:?} must match",
                a.dtype(),
                a.shape(),
                b.dtype(),
                b.shape()
            );
        }
        let r = rounder("SwiGLU", a.dtype())?;
        let alpha = self.alpha as f64;
        let y: Vec<f64> = a
            .to_f64_vec()?
            .into_iter()
            .zip(b.to_f64_vec()?)
            .map(|(x, v)| {
                let sig = r(1.0 / r(1.0 + r(r(-alpha * x).exp())));
                r(r(x * sig) * v)
            })
            .collect();
        Ok(vec![
            Tensor::from_f64s(a.dtype(), a.shape().to_vec(), &y)?.into()
        ])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        // exp, add, reciprocal and three multiplies.
        ctx.elementwise(6)
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .opt_float(
                "alpha",
                if self.alpha != 1.0 {
                    Some(self.alpha)
                } else {
                    None
                },
            )
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval1};

    /// silu(a) * b by hand: silu(1) = 1 / (1 + e^-1) = 0.7310586, silu(-2) = -0.2384058.
    #[test]
    fn gate_times_value() {
        let a = Tensor::vec1(vec![1f32, -2.0, 0.0]);
        let b = Tensor::vec1(vec![2f32, 1.0, 5.0]);
        let y = eval1(&SwiGlu { alpha: 1.0 }, &[Some(a.clone()), Some(b.clone())]).unwrap();
        assert_close(
            &y.to_vec::<f32>().unwrap(),
            &[1.4621172, -0.2384058, 0.0],
            1e-6,
            1e-6,
        );
        // alpha = 2: 1 * sigmoid(2) * 2 = 1.7615942.
        let y = eval1(&SwiGlu { alpha: 2.0 }, &[Some(a), Some(b)]).unwrap();
        assert_close(&y.to_vec::<f32>().unwrap()[..1], &[1.7615942], 1e-6, 1e-6);
    }

    #[test]
    fn mismatched_shapes_are_errors() {
        let a = Tensor::vec1(vec![1f32, 2.0]);
        let b = Tensor::vec1(vec![1f32]);
        assert!(eval1(&SwiGlu { alpha: 1.0 }, &[Some(a), Some(b)]).is_err());
    }
}
