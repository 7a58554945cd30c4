//! ReverseSequence: <https://onnx.ai/onnx/operators/onnx__ReverseSequence.html>
//!
//! Inputs `input` (any type, rank >= 2) and `sequence_lens` (int64 `[batch]`); output: for each
//! batch entry b, the first `sequence_lens[b]` elements along the time axis reversed, the rest
//! unchanged. Attributes `time_axis` (default 0) and `batch_axis` (default 1), which must be
//! 0 and 1 in either order. Opset differences: v10 only.

use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::array::common::{for_each_index, strides, ElemBuf};
use crate::ops::util::same_as;
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, Value, ValueType};

#[derive(Clone, Debug)]
pub struct ReverseSequence {
    pub time_axis: i64,
    pub batch_axis: i64,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let time_axis = ctx.attrs.int_or("time_axis", 0)?;
    let batch_axis = ctx.attrs.int_or("batch_axis", 1)?;
    if !matches!((time_axis, batch_axis), (0, 1) | (1, 0)) {
        bail!("ReverseSequence: time_axis ({time_axis}) and batch_axis ({batch_axis}) must be 0 and 1");
    }
    Ok(Box::new(ReverseSequence {
        time_axis,
        batch_axis,
    }))
}

impl Op for ReverseSequence {
    fn op_type(&self) -> &str {
        "ReverseSequence"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![same_as(ctx.inputs, 0)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (x, lens) = (inputs.tensor(0)?, inputs.tensor(1)?);
        let (t, b) = (self.time_axis as usize, self.batch_axis as usize);
        if x.rank() < 2 {
            bail!(
                "ReverseSequence: input must have rank >= 2, got shape {:?}",
                x.shape()
            );
        }
        let (steps, batch) = (x.shape()[t], x.shape()[b]);
        let lens = lens.to_i64_vec()?;
        if lens.len() != batch || lens.iter().any(|&l| l < 0 || l as usize > steps) {
            bail!(
                "ReverseSequence: sequence_lens {lens:?} must hold {batch} lengths in 0..={steps}"
            );
        }
        let st = strides(x.shape());
        let mut buf = ElemBuf::new(x.dtype(), x.len());
        for_each_index(x.shape(), |idx| {
            let l = lens[idx[b]] as usize;
            let off: usize = idx.iter().zip(&st).map(|(&i, &s)| i * s).sum();
            let i = idx[t];
            let src = if i < l {
                off - i * st[t] + (l - 1 - i) * st[t]
            } else {
                off
            };
            buf.push(x, src);
        });
        Ok(vec![buf.finish(x.shape().to_vec())?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.movement()
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .int("time_axis", self.time_axis)
            .int("batch_axis", self.batch_axis)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;
    use edgeopt_tensor::Tensor;

    #[test]
    fn spec_examples() {
        // ONNX spec example 1 (time_axis 0, batch_axis 1) and example 2 (swapped).
        let x = Tensor::from_vec(vec![4, 4], (0..16).map(|v| v as f32).collect()).unwrap();
        let op = ReverseSequence {
            time_axis: 0,
            batch_axis: 1,
        };
        let y = eval1(
            &op,
            &[Some(x.clone()), Some(Tensor::vec1(vec![4i64, 3, 2, 1]))],
        )
        .unwrap();
        let want = [
            12., 9., 6., 3., 8., 5., 2., 7., 4., 1., 10., 11., 0., 13., 14., 15.,
        ];
        assert_eq!(y.as_slice::<f32>().unwrap(), &want);
        let op = ReverseSequence {
            time_axis: 1,
            batch_axis: 0,
        };
        let y = eval1(&op, &[Some(x), Some(Tensor::vec1(vec![1i64, 2, 3, 4]))]).unwrap();
        let want = [
            0., 1., 2., 3., 5., 4., 6., 7., 10., 9., 8., 11., 15., 14., 13., 12.,
        ];
        assert_eq!(y.as_slice::<f32>().unwrap(), &want);
    }

    #[test]
    fn bad_lengths_are_errors() {
        let x = Tensor::from_vec(vec![2, 2], vec![1i32, 2, 3, 4]).unwrap();
        let op = ReverseSequence {
            time_axis: 0,
            batch_axis: 1,
        };
        assert!(eval1(&op, &[Some(x.clone()), Some(Tensor::vec1(vec![3i64, 1]))]).is_err());
        assert!(eval1(&op, &[Some(x.clone()), Some(Tensor::vec1(vec![-1i64, 1]))]).is_err());
        assert!(eval1(&op, &[Some(x), Some(Tensor::vec1(vec![1i64]))]).is_err());
    }
}
