//! SplitToSequence: splits a tensor along an axis into a sequence of tensors.
//! Spec: <https://onnx.ai/onnx/operators/onnx__SplitToSequence.html>
//!
//! Attributes: `axis` (default 0, negative counts from the back), `keepdims` (default 1; only
//! used without `split`: 0 removes the split axis from each piece of length 1).
//! Inputs: `input`, optional `split` (int32/int64): a scalar chunk length (the last chunk may be
//! shorter) or a 1-D list of lengths summing to the axis length. Without `split` the tensor is
//! cut into pieces of length 1. Output: the sequence. Opset 11 and 24 (24 only widens types).

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::sequence::common::{norm_axis, slice_axis, squeeze};
use crate::registry::BuildCtx;
use crate::{bail, AttrList, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::{Dim, Tensor};

#[derive(Clone, Debug)]
pub struct SplitToSequence {
    pub axis: i64,
    pub keepdims: bool,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let axis = ctx.attrs.int_or("axis", 0)?;
    let keepdims = ctx.attrs.int_or("keepdims", 1)? != 0;
    Ok(Box::new(SplitToSequence { axis, keepdims }))
}

/// Piece lengths for an axis of length `dim`.
fn lengths(split: Option<&Tensor>, dim: usize) -> Result<Vec<usize>> {
    let Some(s) = split else {
        return Ok(vec![1; dim]);
    };
    let v = s.to_i64_vec()?;
    if s.rank() == 0 {
        let k = v[0];
        if k <= 0 {
            bail!("SplitToSequence: scalar split must be positive, got {k}");
        }
        let k = k as usize;
        let mut out = vec![k; dim / k];
        if !dim.is_multiple_of(k) {
            out.push(dim % k);
        }
        return Ok(out);
    }
    if s.rank() != 1 || v.iter().any(|&x| x < 0) || v.iter().sum::<i64>() != dim as i64 {
        bail!("SplitToSequence: split {v:?} (shape {:?}) must be non-negative lengths summing to {dim}", s.shape());
    }
    Ok(v.into_iter().map(|x| x as usize).collect())
}

impl Op for SplitToSequence {
    fn op_type(&self) -> &str {
        "SplitToSequence"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let shape = match &x.shape {
            Some(s) => {
                let mut s = s.clone();
                let a = norm_axis(self.axis, s.len(), "SplitToSequence")?;
                let has_split = ctx.inputs.len() > 1 && !matches!(ctx.input(1), ValueType::Unknown);
                let piece = match (ctx.konst(1), &s[a]) {
                    (None, _) if has_split => None,
                    (None, _) => Some(1),
                    (Some(k), Dim::Known(d)) => {
                        let l = lengths(Some(k), *d)?;
                        l.iter()
                            .all(|&x| x == l[0])
                            .then(|| l.first().copied())
                            .flatten()
                    }
                    _ => None,
                };
                match piece {
                    Some(1) if !has_split && !self.keepdims => {
                        s.remove(a);
                    }
                    Some(p) => s[a] = Dim::Known(p),
                    None => s[a] = Dim::Unknown,
                }
                Some(s)
            }
            None => None,
        };
        Ok(vec![ValueType::Sequence(Box::new(ValueType::Tensor(
            TensorType {
                dtype: x.dtype,
                shape,
            },
        )))])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let a = norm_axis(self.axis, x.rank(), "SplitToSequence")?;
        let split = inputs.opt_tensor(1)?;
        let mut out = Vec::new();
        let mut start = 0;
        for len in lengths(split, x.shape()[a])? {
            let piece = slice_axis(x, a, start, len)?;
            start += len;
            out.push(if split.is_none() && !self.keepdims {
                squeeze(&piece, a)?
            } else {
                piece
            });
        }
        Ok(vec![Value::Sequence(out)])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .int("axis", self.axis)
            .int("keepdims", self.keepdims as i64)
            .build()
    }

    fn cost(&self, ctx: &crate::CostCtx) -> crate::Cost {
        ctx.movement()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::sequence::common::testing::{eval_values, seq};

    fn x() -> Tensor {
        Tensor::from_vec(vec![3, 2], (0..6).map(|v| v as f32).collect()).unwrap()
    }

    fn run(op: &SplitToSequence, split: Option<Tensor>) -> Result<Vec<Tensor>> {
        let out = eval_values(
            op,
            vec![Some(Value::Tensor(x())), split.map(Value::Tensor)],
            1,
            11,
        )?;
        Ok(seq(out[0].clone()))
    }

    #[test]
    fn scalar_split_leaves_remainder() {
        // numpy: np.split-like chunks of 2 rows from 3 -> shapes (2,2), (1,2).
        let s = run(
            &SplitToSequence {
                axis: 0,
                keepdims: true,
            },
            Some(Tensor::scalar(2i64)),
        )
        .unwrap();
        assert_eq!(
            s.iter().map(|t| t.shape().to_vec()).collect::<Vec<_>>(),
            vec![vec![2, 2], vec![1, 2]]
        );
        assert_eq!(s[1].to_vec::<f32>().unwrap(), vec![4., 5.]);
    }

    #[test]
    fn list_split_and_nokeepdims() {
        let op = SplitToSequence {
            axis: 1,
            keepdims: false,
        };
        let s = run(&op, Some(Tensor::vec1(vec![1i64, 1]))).unwrap();
        assert_eq!(s[0].shape(), &[3, 1]);
        let s = run(&op, None).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].shape(), &[3]);
        assert_eq!(s[1].to_vec::<f32>().unwrap(), vec![1., 3., 5.]);
        assert!(run(&op, Some(Tensor::vec1(vec![1i64, 2]))).is_err());
        assert!(run(&op, Some(Tensor::scalar(0i64))).is_err());
    }

    #[test]
    fn infers_piece_shape() {
        let op = SplitToSequence {
            axis: 0,
            keepdims: false,
        };
        let t = crate::ops::testing::infer(&op, &[Some(x())], 1).unwrap();
        assert_eq!(
            t[0],
            ValueType::Sequence(Box::new(ValueType::known(edgeopt_tensor::DType::F32, &[2])))
        );
    }
}
