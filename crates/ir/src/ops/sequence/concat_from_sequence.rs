//! ConcatFromSequence: concatenates the tensors of a sequence along an axis.
//! Spec: <https://onnx.ai/onnx/operators/onnx__ConcatFromSequence.html>
//!
//! Attributes: `axis` (required; range `[-r, r-1]`, or `[-r-1, r]` with `new_axis`), `new_axis`
//! (default 0; 1 stacks along a new axis like `np.stack`). Input: a non-empty sequence of tensors
//! agreeing on every dim but `axis`. Output: the tensor. Opset 11 only.

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::sequence::common::{concat, elem_type, norm_axis, seq_input, stack};
use crate::registry::BuildCtx;
use crate::{bail, AttrList, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::Dim;

#[derive(Clone, Debug)]
pub struct ConcatFromSequence {
    pub axis: i64,
    pub new_axis: bool,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let axis = ctx.attrs.req_int("axis")?;
    let new_axis = ctx.attrs.int_or("new_axis", 0)? != 0;
    Ok(Box::new(ConcatFromSequence { axis, new_axis }))
}

impl ConcatFromSequence {
    /// The axis in the output, for inputs of rank `rank`.
    fn out_axis(&self, rank: usize) -> Result<usize> {
        norm_axis(
            self.axis,
            rank + self.new_axis as usize,
            "ConcatFromSequence",
        )
    }
}

impl Op for ConcatFromSequence {
    fn op_type(&self) -> &str {
        "ConcatFromSequence"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let e = elem_type(ctx.input(0));
        let t = e.as_tensor().cloned().unwrap_or_default();
        let shape = match t.shape {
            Some(mut s) => {
                let a = self.out_axis(s.len())?;
                if self.new_axis {
                    s.insert(a, Dim::Unknown);
                } else {
                    s[a] = Dim::Unknown;
                }
                Some(s)
            }
            None => None,
        };
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: t.dtype,
            shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let s = seq_input(inputs, 0, "ConcatFromSequence")?;
        let Some(first) = s.first() else {
            bail!("ConcatFromSequence: the input sequence is empty")
        };
        let a = self.out_axis(first.rank())?;
        let out = if self.new_axis {
            stack(s, a)
        } else {
            concat(s, a)
        };
        Ok(vec![Value::Tensor(out.map_err(|e| {
            crate::IrError::Op(format!("ConcatFromSequence: {e}"))
        })?)])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .int("axis", self.axis)
            .int("new_axis", self.new_axis as i64)
            .build()
    }

    fn cost(&self, ctx: &crate::CostCtx) -> crate::Cost {
        ctx.movement()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::sequence::common::testing::{eval_values, tensor};
    use edgeopt_tensor::Tensor;

    fn run(axis: i64, new_axis: bool) -> Result<Tensor> {
        let s = Value::Sequence(vec![
            Tensor::vec1(vec![1f32, 2.]),
            Tensor::vec1(vec![3f32, 4.]),
        ]);
        let out = eval_values(&ConcatFromSequence { axis, new_axis }, vec![Some(s)], 1, 11)?;
        Ok(tensor(&out[0]).clone())
    }

    #[test]
    fn concat_and_stack() {
        // numpy: np.concatenate / np.stack of [1,2] and [3,4].
        let c = run(0, false).unwrap();
        assert_eq!(
            (c.shape().to_vec(), c.to_vec::<f32>().unwrap()),
            (vec![4], vec![1., 2., 3., 4.])
        );
        let s = run(-1, true).unwrap();
        assert_eq!(
            (s.shape().to_vec(), s.to_vec::<f32>().unwrap()),
            (vec![2, 2], vec![1., 3., 2., 4.])
        );
        assert!(run(1, false).is_err());
        assert!(run(2, true).is_err());
    }
}
