//! ReshapeLike(dY, X) -> dY with X's shape: the gradient of the shape-only ops, with the
//! target shape read from X's type (a static shape the runtime plans, where
//! `Reshape(dY, Shape(X))` would be a run-time shape).

use super::util::{f32_in, infer_like, out};
use super::DOMAIN;
use edgeopt_ir::{bail, EvalCtx, InferCtx, Inputs, Op, Result, Value, ValueType};

/// `dY` reshaped to the shape of `X`.
#[derive(Clone, Debug)]
pub struct ReshapeLike;

impl Op for ReshapeLike {
    fn op_type(&self) -> &str {
        "ReshapeLike"
    }
    fn domain(&self) -> &str {
        DOMAIN
    }
    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        infer_like(ctx, &[1])
    }
    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (dy, sdy) = f32_in("ReshapeLike", inputs, 0)?;
        let sx = inputs.tensor(1)?.shape();
        if sx.iter().product::<usize>() != dy.len() {
            bail!("ReshapeLike: dY {sdy:?} has a different size than X {sx:?}");
        }
        Ok(vec![out(sx, dy.to_vec())?])
    }
}
