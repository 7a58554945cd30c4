//! OneHot: expands indices into one-hot vectors along a new axis.
//! Spec: <https://onnx.ai/onnx/operators/onnx__OneHot.html>
//!
//! Attribute: `axis` (default -1: the new axis is last; range `[-r-1, r]`).
//! Inputs: `indices` (numeric; non-integer values are truncated), `depth` (numeric scalar or
//! one-element tensor), `values` (`[off_value, on_value]`, any type).
//! Output: dtype of `values`, shape of `indices` with `depth` inserted at `axis`.
//! Negative indices count from `depth`; indices outside `[-depth, depth-1]` give all-off rows.
//! Opset differences: 11 allows negative axis and negative indices; 28 adds bfloat16 values.

use super::common::take_from;
use crate::attr::AttrList;
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{Dim, Tensor};

#[derive(Clone, Debug)]
pub struct OneHot {
    pub axis: i64,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(OneHot {
        axis: ctx.attrs.int_or("axis", -1)?,
    }))
}

fn depth_of(t: &Tensor) -> Result<usize> {
    match t.to_f64_vec() {
        Ok(v) if v.len() == 1 && v[0].trunc() >= 1.0 && v[0] <= (1u64 << 40) as f64 => {
            Ok(v[0].trunc() as usize)
        }
        _ => bail!("OneHot: depth must be one positive number, got {t:?}"),
    }
}

impl OneHot {
    /// Position of the new axis for indices of rank `r`.
    fn axis_for(&self, r: usize) -> Result<usize> {
        let r1 = r as i64 + 1;
        if self.axis < -r1 || self.axis >= r1 {
            bail!(
                "OneHot: axis {} is out of range for indices of rank {r}",
                self.axis
            );
        }
        Ok(if self.axis < 0 {
            (self.axis + r1) as usize
        } else {
            self.axis as usize
        })
    }
}

impl Op for OneHot {
    fn op_type(&self) -> &str {
        "OneHot"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let depth = ctx
            .konst(1)
            .map(depth_of)
            .transpose()?
            .map(Dim::Known)
            .unwrap_or(Dim::Unknown);
        let shape = match ctx.tensor(0).shape {
            Some(mut s) => {
                let ax = self.axis_for(s.len())?;
                s.insert(ax, depth);
                Some(s)
            }
            None => None,
        };
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: ctx.tensor(2).dtype,
            shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let indices = inputs.tensor(0)?;
        let depth = depth_of(inputs.tensor(1)?)?;
        let values = inputs.tensor(2)?;
        if values.len() != 2 {
            bail!(
                "OneHot: values must hold [off_value, on_value], got shape {:?}",
                values.shape()
            );
        }
        let ax = self.axis_for(indices.rank())?;
        let mut shape = indices.shape().to_vec();
        shape.insert(ax, depth);
        let n = checked_numel(&shape)?;
        let outer: usize = indices.shape()[..ax].iter().product();
        let inner: usize = indices.shape()[ax..].iter().product();
        let mut picks = vec![(0usize, 0usize); n];
        for (flat, v) in indices.to_f64_vec()?.into_iter().enumerate() {
            let v = v.trunc();
            let d = if v < 0.0 { v + depth as f64 } else { v };
            if d >= 0.0 && d < depth as f64 {
                let (o, i) = (flat / inner.max(1), flat % inner.max(1));
                picks[(o * depth + d as usize) * inner + i] = (0, 1);
            }
        }
        debug_assert!(outer * depth * inner == n);
        Ok(vec![take_from(&[values], &picks, shape)?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.movement()
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default().int("axis", self.axis).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    #[test]
    fn default_axis_and_negative_indices() {
        // ONNX test_onehot_negative_indices: indices [0, -7, -8], depth 10, values [1, 3].
        let i = Tensor::vec1(vec![0i64, -7, -8]);
        let y = eval1(
            &OneHot { axis: -1 },
            &[
                Some(i),
                Some(Tensor::scalar(10f32)),
                Some(Tensor::vec1(vec![1f32, 3.])),
            ],
        )
        .unwrap();
        assert_eq!(y.shape(), &[3, 10]);
        let v = y.as_slice::<f32>().unwrap();
        assert_eq!(v[0], 3.);
        assert_eq!(v[10 + 3], 3.);
        assert_eq!(v[20 + 2], 3.);
        assert_eq!(v.iter().filter(|&&x| x == 3.).count(), 3);
    }

    #[test]
    fn axis_zero_and_out_of_range() {
        // numpy reference: indices [1, 5], depth 3, axis 0 -> [[0, 0], [1, 0], [0, 0]].
        let y = eval1(
            &OneHot { axis: 0 },
            &[
                Some(Tensor::vec1(vec![1i32, 5])),
                Some(Tensor::vec1(vec![3i64])),
                Some(Tensor::vec1(vec![0i64, 1])),
            ],
        )
        .unwrap();
        assert_eq!(y.shape(), &[3, 2]);
        assert_eq!(y.as_slice::<i64>().unwrap(), &[0, 0, 1, 0, 0, 0]);
    }

    #[test]
    fn bad_depth_is_refused() {
        let r = eval1(
            &OneHot { axis: 0 },
            &[
                Some(Tensor::vec1(vec![1i32])),
                Some(Tensor::scalar(0i64)),
                Some(Tensor::vec1(vec![0i64, 1])),
            ],
        );
        assert!(r.is_err());
    }
}
