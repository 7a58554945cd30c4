//! SequenceInsert: a copy of the input sequence with a tensor inserted at a position.
//! Spec: <https://onnx.ai/onnx/operators/onnx__SequenceInsert.html>
//!
//! Inputs: `input_sequence`, `tensor` (same element type), optional `position` (scalar int32 or
//! int64 in `[-n, n]`, negative counts from the back; default: append). Output: the new sequence.
//! No attributes. Opset 11 only.

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::sequence::common::{elem_type, scalar_i64, seq_input, unify};
use crate::registry::BuildCtx;
use crate::{bail, Result, Value, ValueType};

#[derive(Clone, Debug)]
pub struct SequenceInsert;

pub fn build(_ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(SequenceInsert))
}

/// Resolves an insertion position against a sequence of `n` elements.
fn insert_at(pos: i64, n: usize) -> Result<usize> {
    let r = n as i64;
    if pos < -r || pos > r {
        bail!("SequenceInsert: position {pos} is out of range for a sequence of {n} tensors");
    }
    Ok(if pos < 0 {
        (pos + r) as usize
    } else {
        pos as usize
    })
}

impl Op for SequenceInsert {
    fn op_type(&self) -> &str {
        "SequenceInsert"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let elem = elem_type(ctx.input(0));
        let t = ctx.input(1);
        if let (Some(a), Some(b)) = (elem.dtype(), t.dtype()) {
            if a != b {
                bail!("SequenceInsert: cannot insert a {b} tensor into a sequence of {a}");
            }
        }
        Ok(vec![ValueType::Sequence(Box::new(unify(&elem, t)))])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let s = seq_input(inputs, 0, "SequenceInsert")?;
        let t = inputs.tensor(1)?;
        if let Some(first) = s.first() {
            if first.dtype() != t.dtype() {
                bail!(
                    "SequenceInsert: cannot insert a {} tensor into a sequence of {}",
                    t.dtype(),
                    first.dtype()
                );
            }
        }
        let at = match inputs.opt_tensor(2)? {
            Some(p) => insert_at(scalar_i64(p, "SequenceInsert: position")?, s.len())?,
            None => s.len(),
        };
        let mut out = s.to_vec();
        out.insert(at, t.clone());
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

    fn s3() -> Value {
        Value::Sequence((1..=3).map(|i| Tensor::vec1(vec![i as f32])).collect())
    }

    #[test]
    fn inserts_front_back_and_negative() {
        let t = Some(Value::Tensor(Tensor::vec1(vec![9f32])));
        let run = |pos: Option<i64>| {
            let p = pos.map(|p| Value::Tensor(Tensor::scalar(p)));
            let out = eval_values(&SequenceInsert, vec![Some(s3()), t.clone(), p], 1, 11).unwrap();
            seq(out[0].clone())
                .iter()
                .map(|x| f32s(x)[0])
                .collect::<Vec<_>>()
        };
        assert_eq!(run(None), vec![1., 2., 3., 9.]);
        assert_eq!(run(Some(0)), vec![9., 1., 2., 3.]);
        assert_eq!(run(Some(-1)), vec![1., 2., 9., 3.]);
        assert_eq!(run(Some(3)), vec![1., 2., 3., 9.]);
        let p = Some(Value::Tensor(Tensor::scalar(4i64)));
        assert!(eval_values(&SequenceInsert, vec![Some(s3()), t, p], 1, 11).is_err());
    }

    #[test]
    fn refuses_other_dtype() {
        let t = Some(Value::Tensor(Tensor::vec1(vec![9i32])));
        assert!(eval_values(&SequenceInsert, vec![Some(s3()), t, None], 1, 11).is_err());
    }
}
