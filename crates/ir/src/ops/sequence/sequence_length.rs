//! SequenceLength: the number of tensors in a sequence, as a scalar int64.
//! Spec: <https://onnx.ai/onnx/operators/onnx__SequenceLength.html>
//!
//! Input: `input_sequence`. Output: int64 scalar. No attributes. Opset 11 only.

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::sequence::common::seq_input;
use crate::registry::BuildCtx;
use crate::{Result, Value, ValueType};
use edgeopt_tensor::{DType, Tensor};

#[derive(Clone, Debug)]
pub struct SequenceLength;

pub fn build(_ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(SequenceLength))
}

impl Op for SequenceLength {
    fn op_type(&self) -> &str {
        "SequenceLength"
    }

    fn infer(&self, _ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![ValueType::known(DType::I64, &[])])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let s = seq_input(inputs, 0, "SequenceLength")?;
        Ok(vec![Value::Tensor(Tensor::scalar(s.len() as i64))])
    }

    fn cost(&self, _ctx: &crate::CostCtx) -> crate::Cost {
        crate::Cost::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::sequence::common::testing::{eval_values, tensor};

    #[test]
    fn counts_tensors() {
        let s = Value::Sequence(vec![Tensor::scalar(1f32); 4]);
        let out = eval_values(&SequenceLength, vec![Some(s)], 1, 11).unwrap();
        assert_eq!(tensor(&out[0]).to_vec::<i64>().unwrap(), vec![4]);
        assert!(eval_values(
            &SequenceLength,
            vec![Some(Value::Tensor(Tensor::scalar(1f32)))],
            1,
            11
        )
        .is_err());
    }
}
