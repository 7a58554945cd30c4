//! Identity: <https://onnx.ai/onnx/operators/onnx__Identity.html>
//!
//! Input `input`, output `output`: the same value. No attributes.
//! Opset differences: v14 accepts sequences, v16 optionals; later versions only add dtypes.
//! Any value kind is passed through unchanged.

use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::util::same_as;
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, Value, ValueType};

#[derive(Clone, Debug)]
pub struct Identity;

pub fn build(_ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(Identity))
}

impl Op for Identity {
    fn op_type(&self) -> &str {
        "Identity"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![same_as(ctx.inputs, 0)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        match inputs.value(0) {
            Some(v) => Ok(vec![v.clone()]),
            None => bail!("Identity: required input 'input' is missing"),
        }
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.movement()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{eval1, infer};
    use edgeopt_tensor::{DType, Tensor};

    #[test]
    fn passes_tensors_through() {
        let x = Tensor::from_strings(vec![2], vec!["a".into(), "b".into()]).unwrap();
        let y = eval1(&Identity, &[Some(x.clone())]).unwrap();
        assert!(y.bit_eq(&x));
        let t = infer(&Identity, &[Some(Tensor::vec1(vec![1f32, 2.]))], 1).unwrap();
        assert_eq!(t[0], ValueType::known(DType::F32, &[2]));
    }

    #[test]
    fn missing_input_is_an_error() {
        assert!(eval1(&Identity, &[None]).is_err());
    }
}
