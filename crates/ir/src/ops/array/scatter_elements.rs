//! ScatterElements: <https://onnx.ai/onnx/operators/onnx__ScatterElements.html>
//! and the deprecated Scatter: <https://onnx.ai/onnx/operators/onnx__Scatter.html>
//!
//! Inputs `data` (any type, rank r >= 1), `indices` (int32/int64, rank r) and `updates`
//! (indices' shape). Output: a copy of `data` with, for `axis` = 0,
//! `out[indices[i][j]][j] = updates[i][j]` (likewise along other axes), combined per attribute
//! `reduction` when given. Negative indices count from the back. Attribute `axis` (default 0).
//! Opset differences: Scatter v9 (non-negative indices), v11 negative indices, then deprecated
//! in favor of ScatterElements (v11, v13 bfloat16, v16 `reduction` none/add/mul, v18 max/min).
//! Scatter is the same function without `reduction`, so it shares this struct.

use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::array::gather_elements::element_offsets;
use crate::ops::array::scatter_common::{scatter, Reduction};
use crate::ops::util::same_as;
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, Value, ValueType};

#[derive(Clone, Debug)]
pub struct ScatterElements {
    pub axis: i64,
    pub reduction: Reduction,
    /// "ScatterElements", or "Scatter" for the deprecated spelling.
    pub name: &'static str,
}

fn build_named(ctx: &mut BuildCtx, name: &'static str) -> Result<Box<dyn Op>> {
    let axis = ctx.attrs.int_or("axis", 0)?;
    let reduction = match name {
        "Scatter" => Reduction::None,
        _ => Reduction::parse(name, &ctx.attrs.string_or("reduction", "none")?)?,
    };
    Ok(Box::new(ScatterElements {
        axis,
        reduction,
        name,
    }))
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    build_named(ctx, "ScatterElements")
}

pub fn build_scatter(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    build_named(ctx, "Scatter")
}

impl Op for ScatterElements {
    fn op_type(&self) -> &str {
        self.name
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![same_as(ctx.inputs, 0)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (x, ind, upd) = (inputs.tensor(0)?, inputs.tensor(1)?, inputs.tensor(2)?);
        if upd.shape() != ind.shape() {
            bail!(
                "{}: updates {:?} must have the shape of indices {:?}",
                self.name,
                upd.shape(),
                ind.shape()
            );
        }
        let offs = element_offsets(self.name, x.shape(), ind, self.axis)?;
        let pairs: Vec<(usize, usize)> =
            offs.into_iter().enumerate().map(|(i, o)| (o, i)).collect();
        Ok(vec![
            scatter(self.name, x, upd, &pairs, 1, self.reduction)?.into()
        ])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.movement()
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let r = if self.reduction != Reduction::None {
            Some(self.reduction.name())
        } else {
            None
        };
        AttrList::default()
            .int("axis", self.axis)
            .opt_string("reduction", r)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;
    use edgeopt_tensor::Tensor;

    fn op(axis: i64, reduction: Reduction) -> ScatterElements {
        ScatterElements {
            axis,
            reduction,
            name: "ScatterElements",
        }
    }

    #[test]
    fn spec_examples() {
        // ONNX spec examples 1 and 2.
        let d = Tensor::zeros(edgeopt_tensor::DType::F32, vec![3, 3]).unwrap();
        let ind = Tensor::from_vec(vec![2, 3], vec![1i64, 0, 2, 0, 2, 1]).unwrap();
        let upd = Tensor::from_vec(vec![2, 3], vec![1f32, 1.1, 1.2, 2.0, 2.1, 2.2]).unwrap();
        let y = eval1(&op(0, Reduction::None), &[Some(d), Some(ind), Some(upd)]).unwrap();
        assert_eq!(
            y.as_slice::<f32>().unwrap(),
            &[2.0, 1.1, 0.0, 1.0, 0.0, 2.2, 0.0, 2.1, 1.2]
        );
        let d = Tensor::from_vec(vec![1, 5], vec![1f32, 2., 3., 4., 5.]).unwrap();
        let ind = Tensor::from_vec(vec![1, 2], vec![1i64, -2]).unwrap();
        let upd = Tensor::from_vec(vec![1, 2], vec![1.1f32, 2.1]).unwrap();
        let y = eval1(
            &op(1, Reduction::None),
            &[Some(d.clone()), Some(ind), Some(upd.clone())],
        )
        .unwrap();
        assert_eq!(y.as_slice::<f32>().unwrap(), &[1.0, 1.1, 3.0, 2.1, 5.0]);
        // test_scatter_elements_with_duplicate_indices: add.
        let ind = Tensor::from_vec(vec![1, 2], vec![1i64, 1]).unwrap();
        let y = eval1(&op(1, Reduction::Add), &[Some(d), Some(ind), Some(upd)]).unwrap();
        assert_eq!(y.as_slice::<f32>().unwrap(), &[1.0, 5.2, 3.0, 4.0, 5.0]);
    }

    #[test]
    fn mismatched_updates_are_errors() {
        let d = Tensor::vec1(vec![1f32, 2.]);
        let ind = Tensor::vec1(vec![0i64]);
        assert!(eval1(
            &op(0, Reduction::None),
            &[Some(d), Some(ind), Some(Tensor::vec1(vec![1f32, 2.]))]
        )
        .is_err());
    }
}
