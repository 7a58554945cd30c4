//! OptionalHasElement: whether an optional holds a value.
//! Spec: <https://onnx.ai/onnx/operators/onnx__OptionalHasElement.html>
//!
//! Input: optional `input` (an optional; since opset 18 also a tensor or sequence, which always
//! has an element; an omitted input has none). Output: bool scalar. Opsets 15, 18.

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{Result, Value, ValueType};
use edgeopt_tensor::{DType, Tensor};

#[derive(Clone, Debug)]
pub struct OptionalHasElement;

pub fn build(_ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(OptionalHasElement))
}

impl Op for OptionalHasElement {
    fn op_type(&self) -> &str {
        "OptionalHasElement"
    }

    fn infer(&self, _ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![ValueType::known(DType::Bool, &[])])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let has = match inputs.value(0) {
            None | Some(Value::Optional(None)) => false,
            Some(_) => true,
        };
        Ok(vec![Value::Tensor(Tensor::scalar(has))])
    }

    fn cost(&self, _ctx: &crate::CostCtx) -> crate::Cost {
        crate::Cost::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::sequence::common::testing::{eval_values, tensor};

    fn has(v: Option<Value>) -> bool {
        let out = eval_values(&OptionalHasElement, vec![v], 1, 18).unwrap();
        tensor(&out[0]).as_slice::<bool>().unwrap()[0]
    }

    #[test]
    fn empty_and_full() {
        let t = Value::Tensor(Tensor::scalar(1f32));
        assert!(!has(None));
        assert!(!has(Some(Value::Optional(None))));
        assert!(has(Some(Value::Optional(Some(Box::new(t.clone()))))));
        assert!(has(Some(t)));
    }
}
