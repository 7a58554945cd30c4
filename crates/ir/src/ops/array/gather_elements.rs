//! GatherElements: <https://onnx.ai/onnx/operators/onnx__GatherElements.html>
//!
//! Inputs `data` (any type, rank r >= 1) and `indices` (int32/int64, same rank); output of
//! `indices`' shape with `out[i][j][k] = data[indices[i][j][k]][j][k]` for `axis` = 0 (and
//! likewise along other axes). Negative indices count from the back. Attribute `axis`
//! (default 0). Opset differences: v11 introduced; v13 adds bfloat16.

use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::array::common::{
    for_each_index, norm_axis, norm_index, strides, tensor_type, ElemBuf,
};
use crate::ops::array::gather::indices_of;
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, Value, ValueType};
use edgeopt_tensor::Tensor;

#[derive(Clone, Debug)]
pub struct GatherElements {
    pub axis: i64,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(GatherElements {
        axis: ctx.attrs.int_or("axis", 0)?,
    }))
}

/// For each element of `ind` (same rank as `data`), the flat offset in `data` it designates
/// along `axis`. Shared with ScatterElements.
pub fn element_offsets(op: &str, data: &[usize], ind: &Tensor, axis: i64) -> Result<Vec<usize>> {
    if ind.rank() != data.len() {
        bail!(
            "{op}: indices {:?} must have the same rank as data {data:?}",
            ind.shape()
        );
    }
    let k = norm_axis(op, axis, data.len())?;
    for (j, (&i, &d)) in ind.shape().iter().zip(data).enumerate() {
        if j != k && i > d {
            bail!(
                "{op}: indices {:?} exceed data {data:?} in dim {j}",
                ind.shape()
            );
        }
    }
    let idx = indices_of(op, ind)?;
    let st = strides(data);
    let mut offs = Vec::with_capacity(idx.len());
    let mut err = None;
    let mut n = 0;
    for_each_index(ind.shape(), |pos| {
        match norm_index(op, "indices", idx[n], data[k]) {
            Ok(i) => offs.push(
                pos.iter()
                    .zip(&st)
                    .enumerate()
                    .map(|(j, (&p, &s))| if j == k { i } else { p } * s)
                    .sum(),
            ),
            Err(e) => {
                err.get_or_insert(e);
            }
        }
        n += 1;
    });
    match err {
        Some(e) => Err(e),
        None => Ok(offs),
    }
}

impl Op for GatherElements {
    fn op_type(&self) -> &str {
        "GatherElements"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![tensor_type(ctx.tensor(0).dtype, ctx.tensor(1).shape)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (x, ind) = (inputs.tensor(0)?, inputs.tensor(1)?);
        let offs = element_offsets("GatherElements", x.shape(), ind, self.axis)?;
        let mut buf = ElemBuf::new(x.dtype(), offs.len());
        offs.iter().for_each(|&o| buf.push(x, o));
        Ok(vec![buf.finish(ind.shape().to_vec())?.into()])
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
    fn spec_examples() {
        // ONNX spec example 1 (axis 1) and test_gather_elements_negative_indices (axis 0).
        let x = Tensor::from_vec(vec![2, 2], vec![1i32, 2, 3, 4]).unwrap();
        let ind = Tensor::from_vec(vec![2, 2], vec![0i64, 0, 1, 0]).unwrap();
        let y = eval1(&GatherElements { axis: 1 }, &[Some(x), Some(ind)]).unwrap();
        assert_eq!(y.as_slice::<i32>().unwrap(), &[1, 1, 4, 3]);
        let x = Tensor::from_vec(vec![3, 3], (1..=9).map(|v| v as f32).collect()).unwrap();
        let ind = Tensor::from_vec(vec![2, 3], vec![-1i64, -2, 0, -2, 0, 0]).unwrap();
        let y = eval1(&GatherElements { axis: 0 }, &[Some(x), Some(ind)]).unwrap();
        assert_eq!(y.as_slice::<f32>().unwrap(), &[7., 5., 3., 4., 2., 3.]);
    }

    #[test]
    fn bad_indices_are_errors() {
        let x = Tensor::from_vec(vec![2, 2], vec![1i32, 2, 3, 4]).unwrap();
        let ind = Tensor::from_vec(vec![1, 2], vec![0i64, 2]).unwrap();
        assert!(eval1(&GatherElements { axis: 1 }, &[Some(x.clone()), Some(ind)]).is_err());
        let ind = Tensor::from_vec(vec![1, 3], vec![0i64, 0, 0]).unwrap();
        assert!(eval1(&GatherElements { axis: 0 }, &[Some(x.clone()), Some(ind)]).is_err());
        assert!(eval1(
            &GatherElements { axis: 0 },
            &[Some(x), Some(Tensor::vec1(vec![0i64]))]
        )
        .is_err());
    }
}
