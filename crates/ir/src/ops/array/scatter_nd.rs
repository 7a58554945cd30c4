//! ScatterND: <https://onnx.ai/onnx/operators/onnx__ScatterND.html>
//!
//! Inputs `data` (any type, rank r), `indices` (int64, rank q, last dim k <= r) and `updates`
//! of shape `indices.shape[..q-1] + data.shape[k..]`. Output: a copy of `data` where the slice
//! addressed by each index tuple is replaced by (or, with attribute `reduction`, combined
//! with) the matching slice of `updates`, in index order. Negative indices count from the back.
//! Opset differences: v11 introduced; v13 adds bfloat16; v16 adds `reduction` none/add/mul;
//! v18 adds max/min.

use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::array::gather_nd::tuple_offsets;
use crate::ops::array::scatter_common::{scatter, Reduction};
use crate::ops::util::same_as;
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, Value, ValueType};

#[derive(Clone, Debug)]
pub struct ScatterND {
    pub reduction: Reduction,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let r = ctx.attrs.string_or("reduction", "none")?;
    Ok(Box::new(ScatterND {
        reduction: Reduction::parse("ScatterND", &r)?,
    }))
}

impl Op for ScatterND {
    fn op_type(&self) -> &str {
        "ScatterND"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![same_as(ctx.inputs, 0)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (x, ind, upd) = (inputs.tensor(0)?, inputs.tensor(1)?, inputs.tensor(2)?);
        let (offs, slice) = tuple_offsets("ScatterND", x.shape(), ind, 0)?;
        let k = ind.shape()[ind.rank() - 1];
        let want = [&ind.shape()[..ind.rank() - 1], &x.shape()[k..]].concat();
        if upd.shape() != want {
            bail!(
                "ScatterND: updates {:?} should have shape {want:?} (indices {:?}, data {:?})",
                upd.shape(),
                ind.shape(),
                x.shape()
            );
        }
        let pairs: Vec<(usize, usize)> = offs
            .iter()
            .enumerate()
            .map(|(i, &o)| (o, i * slice))
            .collect();
        Ok(vec![scatter(
            "ScatterND",
            x,
            upd,
            &pairs,
            slice,
            self.reduction,
        )?
        .into()])
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
        AttrList::default().opt_string("reduction", r).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;
    use edgeopt_tensor::Tensor;

    fn run(r: Reduction, data: Tensor, ind: Tensor, upd: Tensor) -> Result<Vec<f32>> {
        Ok(eval1(
            &ScatterND { reduction: r },
            &[Some(data), Some(ind), Some(upd)],
        )?
        .to_vec::<f32>()?)
    }

    #[test]
    fn spec_examples() {
        // ONNX spec example 1 and test_scatternd_add (duplicate index 0 accumulates).
        let d = Tensor::vec1((1..=8).map(|v| v as f32).collect());
        let ind = Tensor::from_vec(vec![4, 1], vec![4i64, 3, 1, 7]).unwrap();
        let upd = Tensor::vec1(vec![9f32, 10., 11., 12.]);
        assert_eq!(
            run(Reduction::None, d, ind, upd).unwrap(),
            vec![1., 11., 3., 10., 9., 6., 7., 12.]
        );
        let d = Tensor::from_vec(vec![2, 2], vec![1f32, 2., 3., 4.]).unwrap();
        let ind = Tensor::from_vec(vec![2, 1], vec![0i64, 0]).unwrap();
        let upd = Tensor::from_vec(vec![2, 2], vec![5f32, 6., 7., 8.]).unwrap();
        assert_eq!(
            run(Reduction::Add, d, ind, upd).unwrap(),
            vec![13., 16., 3., 4.]
        );
    }

    #[test]
    fn bad_shapes_and_indices_are_errors() {
        let d = Tensor::vec1(vec![1f32, 2.]);
        let ind = Tensor::from_vec(vec![1, 1], vec![2i64]).unwrap();
        assert!(run(Reduction::None, d.clone(), ind, Tensor::vec1(vec![1f32])).is_err());
        let ind = Tensor::from_vec(vec![1, 1], vec![-1i64]).unwrap();
        assert!(run(
            Reduction::None,
            d.clone(),
            ind.clone(),
            Tensor::vec1(vec![1f32, 2.])
        )
        .is_err());
        assert_eq!(
            run(Reduction::None, d, ind, Tensor::vec1(vec![5f32])).unwrap(),
            vec![1., 5.]
        );
    }
}
