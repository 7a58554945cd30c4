//! Gather: <https://onnx.ai/onnx/operators/onnx__Gather.html>
//!
//! Inputs `data` (any type, rank r >= 1) and `indices` (int32/int64, any rank q); output of
//! rank q + r - 1: `data` indexed along attribute `axis` (default 0) by every index, i.e.
//! shape `data[..axis] + indices.shape + data[axis+1..]`. Negative indices count from the back.
//! Opset differences: v1 non-negative indices; v11 negative indices and axes; v13 adds bfloat16.

use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::array::common::{norm_axis, norm_index, tensor_type, ElemBuf};
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{DType, Tensor};

#[derive(Clone, Debug)]
pub struct Gather {
    pub axis: i64,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(Gather {
        axis: ctx.attrs.int_or("axis", 0)?,
    }))
}

/// Reads an index tensor, which ONNX restricts to int32 or int64.
pub fn indices_of(op: &str, t: &Tensor) -> Result<Vec<i64>> {
    if !matches!(t.dtype(), DType::I32 | DType::I64) {
        bail!("{op}: indices must be int32 or int64, got {}", t.dtype());
    }
    Ok(t.to_i64_vec()?)
}

impl Op for Gather {
    fn op_type(&self) -> &str {
        "Gather"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let (x, ind) = (ctx.tensor(0), ctx.tensor(1));
        let shape = match (&x.shape, &ind.shape) {
            (Some(s), Some(i)) => {
                let k = norm_axis("Gather", self.axis, s.len())?;
                Some([&s[..k], &i[..], &s[k + 1..]].concat())
            }
            _ => None,
        };
        Ok(vec![tensor_type(x.dtype, shape)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (x, ind) = (inputs.tensor(0)?, inputs.tensor(1)?);
        let k = norm_axis("Gather", self.axis, x.rank())?;
        let idx = indices_of("Gather", ind)?;
        let dim = x.shape()[k];
        let idx: Vec<usize> = idx
            .iter()
            .map(|&i| norm_index("Gather", "indices", i, dim))
            .collect::<Result<_>>()?;
        let shape = [&x.shape()[..k], ind.shape(), &x.shape()[k + 1..]].concat();
        let outer: usize = x.shape()[..k].iter().product();
        let inner: usize = x.shape()[k + 1..].iter().product();
        let mut buf = ElemBuf::new(x.dtype(), checked_numel(&shape)?);
        for o in 0..outer {
            for &i in &idx {
                buf.extend(x, (o * dim + i) * inner, inner);
            }
        }
        Ok(vec![buf.finish(shape)?.into()])
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
    use crate::ops::testing::{eval1, infer};

    #[test]
    fn gathers_rows_and_columns() {
        let x = Tensor::from_vec(vec![3, 2], vec![1f32, 1.2, 2.3, 3.4, 4.5, 5.7]).unwrap();
        // Spec example 1: indices [[0, 1], [1, 2]] along axis 0.
        let ind = Tensor::from_vec(vec![2, 2], vec![0i64, 1, 1, 2]).unwrap();
        let y = eval1(&Gather { axis: 0 }, &[Some(x.clone()), Some(ind)]).unwrap();
        assert_eq!(y.shape(), &[2, 2, 2]);
        assert_eq!(
            y.as_slice::<f32>().unwrap(),
            &[1., 1.2, 2.3, 3.4, 2.3, 3.4, 4.5, 5.7]
        );
        let ind = Tensor::vec1(vec![-1i32]);
        let y = eval1(&Gather { axis: 1 }, &[Some(x), Some(ind)]).unwrap();
        assert_eq!(
            (y.shape(), y.as_slice::<f32>().unwrap()),
            (&[3, 1][..], &[1.2f32, 3.4, 5.7][..])
        );
    }

    #[test]
    fn scalar_index_of_a_shape_vector() {
        let s = Tensor::vec1(vec![2i64, 3, 4]);
        let y = eval1(
            &Gather { axis: 0 },
            &[Some(s.clone()), Some(Tensor::scalar(1i64))],
        )
        .unwrap();
        assert_eq!(
            (y.shape(), y.as_slice::<i64>().unwrap()),
            (&[][..], &[3i64][..])
        );
        let t = infer(
            &Gather { axis: 0 },
            &[Some(s), Some(Tensor::scalar(1i64))],
            1,
        )
        .unwrap();
        assert_eq!(t[0], ValueType::known(DType::I64, &[]));
    }

    #[test]
    fn out_of_range_is_an_error() {
        let s = Tensor::vec1(vec![2i64, 3, 4]);
        assert!(eval1(
            &Gather { axis: 0 },
            &[Some(s.clone()), Some(Tensor::scalar(3i64))]
        )
        .is_err());
        assert!(eval1(
            &Gather { axis: 0 },
            &[Some(s.clone()), Some(Tensor::scalar(-4i64))]
        )
        .is_err());
        assert!(eval1(
            &Gather { axis: 1 },
            &[Some(s.clone()), Some(Tensor::scalar(0i64))]
        )
        .is_err());
        assert!(eval1(&Gather { axis: 0 }, &[Some(s), Some(Tensor::scalar(0f32))]).is_err());
    }
}
