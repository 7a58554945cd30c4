//! SequenceErase: a copy of the input sequence without the tensor at a position.
//! Spec: <https://onnx.ai/onnx/operators/onnx__SequenceErase.html>
//!
//! Inputs: `input_sequence`, optional `position` (scalar int32/int64 in `[-n, n-1]`; default:
//! the last tensor). Output: the new sequence. No attributes. Opset 11 only.

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::sequence::common::{scalar_i64, seq_input};
use crate::ops::sequence::sequence_at::position;
use crate::registry::BuildCtx;
use crate::{Result, Value, ValueType};

#[derive(Clone, Debug)]
pub struct SequenceErase;

pub fn build(_ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(SequenceErase))
}

impl Op for SequenceErase {
    fn op_type(&self) -> &str {
        "SequenceErase"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![ctx.input(0).clone()])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let s = seq_input(inputs, 0, "SequenceErase")?;
        let p = match inputs.opt_tensor(1)? {
            Some(p) => scalar_i64(p, "SequenceErase: position")?,
            None => -1,
        };
        let mut out = s.to_vec();
        out.remove(position(p, s.len(), "SequenceErase")?);
        Ok(vec![Value::Sequence(out)])
    }

    fn cost(&self, ctx: &crate::CostCtx) -> crate::Cost {
        ctx.movement()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::sequence::common::testing::{eval_values, f32s, seq};
    use edgeopt_tensor::Tensor;

    #[test]
    fn erases_last_by_default() {
        let s = Value::Sequence((1..=3).map(|i| Tensor::vec1(vec![i as f32])).collect());
        let run = |p: Option<i64>| {
            let p = p.map(|p| Value::Tensor(Tensor::scalar(p)));
            eval_values(&SequenceErase, vec![Some(s.clone()), p], 1, 11).map(|o| {
                seq(o[0].clone())
                    .iter()
                    .map(|t| f32s(t)[0])
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(run(None).unwrap(), vec![1., 2.]);
        assert_eq!(run(Some(0)).unwrap(), vec![2., 3.]);
        assert_eq!(run(Some(-2)).unwrap(), vec![1., 3.]);
        assert!(run(Some(3)).is_err());
        let empty = Value::Sequence(vec![]);
        assert!(eval_values(&SequenceErase, vec![Some(empty), None], 1, 11).is_err());
    }
}
