//! OptionalGetElement: the value inside an optional.
//! Spec: <https://onnx.ai/onnx/operators/onnx__OptionalGetElement.html>
//!
//! Input: `input`, an optional holding a value (an empty optional is an error); since opset 18
//! also a tensor or sequence, returned as is. Output: the value. Opsets 15, 18.

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Result, Value, ValueType};

#[derive(Clone, Debug)]
pub struct OptionalGetElement;

pub fn build(_ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(OptionalGetElement))
}

impl Op for OptionalGetElement {
    fn op_type(&self) -> &str {
        "OptionalGetElement"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![match ctx.input(0) {
            ValueType::Optional(e) => (**e).clone(),
            t => t.clone(),
        }])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        match inputs.value(0) {
            Some(Value::Optional(Some(v))) => Ok(vec![(**v).clone()]),
            Some(Value::Optional(None)) => bail!("OptionalGetElement: the input optional is empty"),
            Some(v) => Ok(vec![v.clone()]),
            None => bail!("OptionalGetElement: the input is missing"),
        }
    }

    fn cost(&self, _ctx: &crate::CostCtx) -> crate::Cost {
        crate::Cost::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::sequence::common::testing::{eval_values, seq};
    use edgeopt_tensor::Tensor;

    #[test]
    fn unwraps_and_passes_through() {
        let s = Value::Sequence(vec![Tensor::scalar(1f32)]);
        let out = eval_values(
            &OptionalGetElement,
            vec![Some(Value::Optional(Some(Box::new(s.clone()))))],
            1,
            18,
        );
        assert_eq!(seq(out.unwrap()[0].clone()).len(), 1);
        let out = eval_values(&OptionalGetElement, vec![Some(s)], 1, 18).unwrap();
        assert_eq!(seq(out[0].clone()).len(), 1);
        assert!(eval_values(
            &OptionalGetElement,
            vec![Some(Value::Optional(None))],
            1,
            18
        )
        .is_err());
    }
}
