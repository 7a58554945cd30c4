//! Not: logical negation of a bool tensor.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Not.html>. Input X: bool; output Y: bool, same
//! shape. No attributes; unchanged since opset 1.

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::util::same_as;
use crate::registry::BuildCtx;
use crate::{bail, Result, Value, ValueType};
use edgeopt_tensor::{DType, Tensor};

#[derive(Clone, Debug)]
pub struct Not;

pub fn build(_ctx: &mut BuildCtx) -> Result<Box<dyn crate::op::Op>> {
    Ok(Box::new(Not))
}

impl Op for Not {
    fn op_type(&self) -> &str {
        "Not"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        if let Some(d) = ctx.input(0).dtype().filter(|&d| d != DType::Bool) {
            bail!("Not: input X must be bool, got {d}");
        }
        Ok(vec![same_as(ctx.inputs, 0)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        if x.dtype() != DType::Bool {
            bail!("Not: input X must be bool, got {}", x.dtype());
        }
        let y: Vec<bool> = x.as_slice::<bool>()?.iter().map(|&v| !v).collect();
        Ok(vec![Tensor::from_vec(x.shape().to_vec(), y)?.into()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    #[test]
    fn negates() {
        let y = eval1(
            &Not,
            &[Some(
                Tensor::from_vec(vec![1, 2], vec![true, false]).unwrap(),
            )],
        )
        .unwrap();
        assert_eq!(
            (y.shape(), y.to_vec::<bool>().unwrap()),
            (&[1usize, 2][..], vec![false, true])
        );
        assert!(eval1(&Not, &[Some(Tensor::vec1(vec![1i32]))]).is_err());
    }
}
