//! TopK: the k largest (or smallest) elements along an axis, with their indices.
//! Spec: <https://onnx.ai/onnx/operators/onnx__TopK.html>
//!
//! Attributes: `axis` (default -1), `largest` (default 1, opset 11+), `sorted` (default 1,
//! opset 11+), `k` (opset 1 only). Inputs: `X`, `K` (1-D int64 of one element, opset 10+).
//! Outputs: `Values` (dtype of X), `Indices` (int64), both shaped like X with `k` on `axis`.
//! Equal values are ordered by index, lower first, as the spec requires. NaN sorts above every
//! number (as numpy and onnxruntime do). The output is always sorted, which `sorted=0` allows.

use crate::attr::AttrList;
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, dispatch_num, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::{checked_numel, normalize_axis};
use edgeopt_tensor::{DType, Dim, Numeric, Tensor};
use std::cmp::Ordering;

#[derive(Clone, Debug)]
pub struct TopK {
    pub axis: i64,
    pub largest: bool,
    pub sorted: bool,
    /// The `k` attribute of opset 1; later opsets take `K` as input 1.
    pub k: Option<i64>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let k = if ctx.opset < 10 {
        Some(ctx.attrs.req_int("k")?)
    } else {
        None
    };
    Ok(Box::new(TopK {
        axis: ctx.attrs.int_or("axis", -1)?,
        largest: ctx.attrs.int_or("largest", 1)? != 0,
        sorted: ctx.attrs.int_or("sorted", 1)? != 0,
        k,
    }))
}

fn k_from_input(t: &Tensor) -> Result<i64> {
    match t.to_i64_vec() {
        Ok(v) if v.len() == 1 => Ok(v[0]),
        _ => bail!(
            "TopK: K must hold exactly one integer, got {} of shape {:?}",
            t.dtype(),
            t.shape()
        ),
    }
}

/// Total order with NaN above every number (NaNs equal to each other).
fn cmp_nan_high<T: Numeric>(a: T, b: T) -> Ordering {
    #[allow(clippy::eq_op)]
    match (a != a, b != b) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

impl TopK {
    fn select<T: Numeric + bytemuck::NoUninit>(
        &self,
        x: &Tensor,
        axis: usize,
        k: usize,
    ) -> Result<(Tensor, Tensor)> {
        let xs = x.as_slice::<T>()?;
        let shape = x.shape();
        let n = shape[axis];
        let outer: usize = shape[..axis].iter().product();
        let inner: usize = shape[axis + 1..].iter().product();
        let mut out_shape = shape.to_vec();
        out_shape[axis] = k;
        let total = checked_numel(&out_shape)?;
        let (mut vals, mut idxs) = (vec![T::default(); total], vec![0i64; total]);
        let mut order: Vec<usize> = Vec::with_capacity(n);
        for o in 0..outer {
            for i in 0..inner {
                let at = |j: usize| xs[(o * n + j) * inner + i];
                order.clear();
                order.extend(0..n);
                // Stable sort keeps lower indices first among equal values.
                if self.largest {
                    order.sort_by(|&a, &b| cmp_nan_high(at(b), at(a)));
                } else {
                    order.sort_by(|&a, &b| cmp_nan_high(at(a), at(b)));
                }
                for (r, &j) in order[..k].iter().enumerate() {
                    let dst = (o * k + r) * inner + i;
                    vals[dst] = at(j);
                    idxs[dst] = j as i64;
                }
            }
        }
        Ok((
            Tensor::from_vec(out_shape.clone(), vals)?,
            Tensor::from_vec(out_shape, idxs)?,
        ))
    }
}

impl Op for TopK {
    fn op_type(&self) -> &str {
        "TopK"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let k = match self.k {
            Some(k) => Some(k),
            None => ctx.konst(1).map(k_from_input).transpose()?,
        };
        let shape = match x.shape {
            Some(mut s) => {
                let Ok(axis) = normalize_axis(self.axis, s.len()) else {
                    bail!(
                        "TopK: axis {} is out of range for an input of rank {}",
                        self.axis,
                        s.len()
                    )
                };
                s[axis] = match k {
                    Some(k) if k >= 0 => Dim::Known(k as usize),
                    Some(k) => bail!("TopK: k must be non-negative, got {k}"),
                    None => Dim::Unknown,
                };
                Some(s)
            }
            None => None,
        };
        Ok(vec![
            ValueType::Tensor(TensorType {
                dtype: x.dtype,
                shape: shape.clone(),
            }),
            ValueType::Tensor(TensorType {
                dtype: Some(DType::I64),
                shape,
            }),
        ])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let k = match self.k {
            Some(k) => k,
            None => k_from_input(inputs.tensor(1)?)?,
        };
        let Ok(axis) = normalize_axis(self.axis, x.rank()) else {
            bail!(
                "TopK: axis {} is out of range for input of shape {:?}",
                self.axis,
                x.shape()
            )
        };
        if k < 0 || k as usize > x.shape()[axis] {
            bail!(
                "TopK: k = {k} is outside [0, {}] for input of shape {:?} on axis {axis}",
                x.shape()[axis],
                x.shape()
            );
        }
        let (v, i) = dispatch_num!(x.dtype(), T => self.select::<T>(x, axis, k as usize)?);
        Ok(vec![v.into(), i.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        // A sort per slice: about n log n comparisons.
        let n = ctx
            .input_shape(0)
            .map(|s| s.iter().product::<usize>() as u64)
            .unwrap_or(0);
        let log = 64 - n.max(1).leading_zeros() as u64;
        Cost {
            flops: n * log,
            ..ctx.movement()
        }
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let mut a = AttrList::default()
            .int("axis", self.axis)
            .opt_int("k", self.k);
        if !self.largest {
            a = a.int("largest", 0);
        }
        if !self.sorted {
            a = a.int("sorted", 0);
        }
        a.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval;

    fn run(op: &TopK, x: Tensor, k: i64) -> (Tensor, Tensor) {
        let out = eval(op, &[Some(x), Some(Tensor::vec1(vec![k]))], 2).unwrap();
        let t = |v: &Value| v.as_tensor().unwrap().clone();
        (t(&out[0]), t(&out[1]))
    }

    fn op(axis: i64, largest: bool) -> TopK {
        TopK {
            axis,
            largest,
            sorted: true,
            k: None,
        }
    }

    #[test]
    fn spec_example_largest() {
        // ONNX TopK example: X = arange(12).reshape(3, 4), k = 3, axis = 1.
        let x = Tensor::from_vec(vec![3, 4], (0..12).map(|v| v as f32).collect()).unwrap();
        let (v, i) = run(&op(1, true), x, 3);
        assert_eq!(v.shape(), &[3, 3]);
        assert_eq!(
            v.as_slice::<f32>().unwrap(),
            &[3., 2., 1., 7., 6., 5., 11., 10., 9.]
        );
        assert_eq!(i.as_slice::<i64>().unwrap(), &[3, 2, 1, 3, 2, 1, 3, 2, 1]);
    }

    #[test]
    fn ties_prefer_lower_index() {
        // ONNX test_top_k_same_values: [0, 0, 0, 1, 1] -> largest 3: [1, 1, 0] at [3, 4, 0].
        let x = Tensor::vec1(vec![0i64, 0, 0, 1, 1]);
        let (v, i) = run(&op(0, true), x.clone(), 3);
        assert_eq!(v.as_slice::<i64>().unwrap(), &[1, 1, 0]);
        assert_eq!(i.as_slice::<i64>().unwrap(), &[3, 4, 0]);
        let (v, i) = run(&op(-1, false), x, 4);
        assert_eq!(v.as_slice::<i64>().unwrap(), &[0, 0, 0, 1]);
        assert_eq!(i.as_slice::<i64>().unwrap(), &[0, 1, 2, 3]);
    }

    #[test]
    fn axis_zero_and_bad_k() {
        let x = Tensor::from_vec(vec![2, 2], vec![1u8, 9, 5, 2]).unwrap();
        let (v, i) = run(&op(0, true), x.clone(), 1);
        assert_eq!(v.as_slice::<u8>().unwrap(), &[5, 9]);
        assert_eq!(i.as_slice::<i64>().unwrap(), &[1, 0]);
        assert!(eval(
            &op(0, true),
            &[Some(x.clone()), Some(Tensor::vec1(vec![3i64]))],
            2
        )
        .is_err());
        assert!(eval(&op(0, true), &[Some(x), Some(Tensor::vec1(vec![-1i64]))], 2).is_err());
    }
}
