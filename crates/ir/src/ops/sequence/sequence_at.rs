//! SequenceAt: the tensor at a position of a sequence.
//! Spec: <https://onnx.ai/onnx/operators/onnx__SequenceAt.html>
//!
//! Inputs: `input_sequence`, `position` (scalar int32/int64 in `[-n, n-1]`, negative counts from
//! the back). Output: the tensor. No attributes. Opset 11 only.

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::sequence::common::{elem_type, scalar_i64, seq_input};
use crate::registry::BuildCtx;
use crate::{bail, Result, Value, ValueType};

#[derive(Clone, Debug)]
pub struct SequenceAt;

pub fn build(_ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(SequenceAt))
}

/// Resolves an element position (`-n..n`) against a sequence of `n` elements.
pub fn position(pos: i64, n: usize, op: &str) -> Result<usize> {
    let r = n as i64;
    if pos < -r || pos >= r {
        bail!("{op}: position {pos} is out of range for a sequence of {n} tensors");
    }
    Ok(if pos < 0 {
        (pos + r) as usize
    } else {
        pos as usize
    })
}

impl Op for SequenceAt {
    fn op_type(&self) -> &str {
        "SequenceAt"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![elem_type(ctx.input(0))])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let s = seq_input(inputs, 0, "SequenceAt")?;
        let p = scalar_i64(inputs.tensor(1)?, "SequenceAt: position")?;
        Ok(vec![Value::Tensor(
            s[position(p, s.len(), "SequenceAt")?].clone(),
        )])
    }

    fn cost(&self, ctx: &crate::CostCtx) -> crate::Cost {
        ctx.movement()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::sequence::common::testing::{eval_values, f32s, tensor};
    use edgeopt_tensor::Tensor;

    #[test]
    fn picks_by_positive_and_negative_position() {
        let s = Value::Sequence((1..=3).map(|i| Tensor::vec1(vec![i as f32])).collect());
        let at = |p: i64| {
            eval_values(
                &SequenceAt,
                vec![Some(s.clone()), Some(Value::Tensor(Tensor::scalar(p)))],
                1,
                11,
            )
            .map(|o| f32s(tensor(&o[0]))[0])
        };
        assert_eq!(at(0).unwrap(), 1.0);
        assert_eq!(at(-1).unwrap(), 3.0);
        assert!(at(3).is_err());
        assert!(at(-4).is_err());
    }
}
