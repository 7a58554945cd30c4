//! GatherND: <https://onnx.ai/onnx/operators/onnx__GatherND.html>
//!
//! Inputs `data` (any type, rank r >= 1) and `indices` (int64, rank q >= 1); attribute
//! `batch_dims` b (v12+, default 0). The last dim m of `indices` (1 <= m <= r - b) holds index
//! tuples into `data` dims `b..b+m`; the first b dims of both are batch dims and must match.
//! Output shape: `indices.shape[..q-1] + data.shape[b+m..]`. Negative indices count from the back.
//! Opset differences: v11 introduced; v12 adds `batch_dims`; v13 adds bfloat16.

use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::array::common::{norm_index, strides, tensor_type, ElemBuf};
use crate::ops::array::gather::indices_of;
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{Dim, Tensor};

#[derive(Clone, Debug)]
pub struct GatherND {
    pub batch_dims: i64,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(GatherND {
        batch_dims: ctx.attrs.int_or("batch_dims", 0)?,
    }))
}

/// Flat start offsets (per index tuple) into `data`, for tuples addressing dims `b..b+m`, and
/// the size of each addressed slice. Shared with ScatterND (b = 0).
pub fn tuple_offsets(
    op: &str,
    data: &[usize],
    ind: &Tensor,
    b: usize,
) -> Result<(Vec<usize>, usize)> {
    let q = ind.rank();
    let Some(&m) = ind.shape().last() else {
        bail!("{op}: indices must have rank >= 1")
    };
    if m < 1 || b + m > data.len() || b >= q {
        bail!(
            "{op}: indices {:?} (batch_dims {b}) do not fit data {data:?}",
            ind.shape()
        );
    }
    if ind.shape()[..b] != data[..b] {
        bail!(
            "{op}: batch dims of indices {:?} and data {data:?} differ",
            ind.shape()
        );
    }
    let idx = indices_of(op, ind)?;
    let st = strides(data);
    let slice: usize = data[b + m..].iter().product();
    let batch_block: usize = data[b..].iter().product();
    let per_batch: usize = ind.shape()[b..q - 1].iter().product();
    let mut offs = Vec::with_capacity(idx.len() / m);
    for (t, tuple) in idx.chunks(m).enumerate() {
        let mut off = (t / per_batch.max(1)) * batch_block;
        for (j, &i) in tuple.iter().enumerate() {
            off += norm_index(op, "indices", i, data[b + j])? * st[b + j];
        }
        offs.push(off);
    }
    Ok((offs, slice))
}

impl Op for GatherND {
    fn op_type(&self) -> &str {
        "GatherND"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let (x, ind) = (ctx.tensor(0), ctx.tensor(1));
        let b = self.batch_dims.max(0) as usize;
        let shape = match (&x.shape, &ind.shape) {
            (Some(s), Some(i)) => match i.last() {
                Some(Dim::Known(m)) if b + m <= s.len() && !i.is_empty() => {
                    Some([&i[..i.len() - 1], &s[b + m..]].concat())
                }
                Some(Dim::Known(m)) => bail!(
                    "GatherND: indices' last dim {m} with batch_dims {b} exceeds data rank {}",
                    s.len()
                ),
                _ => None,
            },
            _ => None,
        };
        Ok(vec![tensor_type(x.dtype, shape)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (x, ind) = (inputs.tensor(0)?, inputs.tensor(1)?);
        if self.batch_dims < 0 {
            bail!("GatherND: batch_dims must be >= 0, got {}", self.batch_dims);
        }
        let b = self.batch_dims as usize;
        let (offs, slice) = tuple_offsets("GatherND", x.shape(), ind, b)?;
        let m = ind.shape()[ind.rank() - 1];
        let shape = [&ind.shape()[..ind.rank() - 1], &x.shape()[b + m..]].concat();
        let mut buf = ElemBuf::new(x.dtype(), checked_numel(&shape)?);
        offs.iter().for_each(|&o| buf.extend(x, o, slice));
        Ok(vec![buf.finish(shape)?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.movement()
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let b = if self.batch_dims != 0 {
            Some(self.batch_dims)
        } else {
            None
        };
        AttrList::default().opt_int("batch_dims", b).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    fn run(b: i64, data: Tensor, ind: Tensor) -> Result<Tensor> {
        eval1(&GatherND { batch_dims: b }, &[Some(data), Some(ind)])
    }

    #[test]
    fn spec_examples() {
        // ONNX spec examples 1, 3 and 5.
        let d = Tensor::from_vec(vec![2, 2], vec![0i32, 1, 2, 3]).unwrap();
        let y = run(
            0,
            d,
            Tensor::from_vec(vec![2, 2], vec![0i64, 0, 1, 1]).unwrap(),
        )
        .unwrap();
        assert_eq!(
            (y.shape(), y.as_slice::<i32>().unwrap()),
            (&[2][..], &[0, 3][..])
        );
        let d = Tensor::from_vec(vec![2, 2, 2], (0..8i32).collect()).unwrap();
        let y = run(
            0,
            d.clone(),
            Tensor::from_vec(vec![2, 1, 2], vec![0i64, 1, 1, 0]).unwrap(),
        )
        .unwrap();
        assert_eq!(
            (y.shape(), y.as_slice::<i32>().unwrap()),
            (&[2, 1, 2][..], &[2, 3, 4, 5][..])
        );
        let y = run(1, d, Tensor::from_vec(vec![2, 1], vec![1i64, 0]).unwrap()).unwrap();
        assert_eq!(
            (y.shape(), y.as_slice::<i32>().unwrap()),
            (&[2, 2][..], &[2, 3, 4, 5][..])
        );
    }

    #[test]
    fn bad_indices_are_errors() {
        let d = Tensor::from_vec(vec![2, 2], vec![0i32, 1, 2, 3]).unwrap();
        assert!(run(
            0,
            d.clone(),
            Tensor::from_vec(vec![1, 2], vec![0i64, 2]).unwrap()
        )
        .is_err());
        assert!(run(
            0,
            d.clone(),
            Tensor::from_vec(vec![1, 3], vec![0i64, 0, 0]).unwrap()
        )
        .is_err());
        assert!(run(
            1,
            d.clone(),
            Tensor::from_vec(vec![3, 1], vec![0i64, 0, 0]).unwrap()
        )
        .is_err());
        assert!(run(0, d, Tensor::scalar(0i64)).is_err());
    }
}
