//! CumSum: running sum along one axis.
//! Spec: <https://onnx.ai/onnx/operators/onnx__CumSum.html>.
//!
//! Attributes `exclusive` (int, default 0: an element's own value is left out of its sum) and
//! `reverse` (int, default 0: accumulate from the end).
//! Inputs x (type T), axis (0-D i32/i64 tensor, in `-r..r`); output y: T, same shape.
//! Opset differences: 11 has f32/f64/i32/i64/u32/u64; 14 adds f16 and bf16.

use super::common::Scalar;
use crate::attr::{AttrList, Attribute};
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::util::same_as;
use crate::registry::BuildCtx;
use crate::{bail, dispatch_num, Result, Value, ValueType};
use edgeopt_tensor::shape::normalize_axis;
use edgeopt_tensor::{Numeric, Tensor};

#[derive(Clone, Debug, Default)]
pub struct CumSum {
    pub exclusive: bool,
    pub reverse: bool,
}

/// The `exclusive`/`reverse` attributes shared with CumProd.
pub(super) fn flags(ctx: &mut BuildCtx) -> Result<(bool, bool)> {
    Ok((
        ctx.attrs.int_or("exclusive", 0)? != 0,
        ctx.attrs.int_or("reverse", 0)? != 0,
    ))
}

pub(super) fn export(exclusive: bool, reverse: bool) -> Vec<(String, Attribute)> {
    AttrList::default()
        .int("exclusive", exclusive as i64)
        .int("reverse", reverse as i64)
        .build()
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let (exclusive, reverse) = flags(ctx)?;
    Ok(Box::new(CumSum { exclusive, reverse }))
}

/// The axis input: a single integer, normalized against the rank of x.
fn axis(op: &str, t: &Tensor, rank: usize) -> Result<usize> {
    if !matches!(
        t.dtype(),
        edgeopt_tensor::DType::I32 | edgeopt_tensor::DType::I64
    ) || t.len() != 1
    {
        bail!(
            "{op}: axis must be a single i32/i64 value, got {} of shape {:?}",
            t.dtype(),
            t.shape()
        );
    }
    let a = t.to_i64_vec()?[0];
    normalize_axis(a, rank)
        .map_err(|_| crate::IrError::Op(format!("{op}: axis {a} is out of range for rank {rank}")))
}

/// Running `f` along `axis`, starting from `init` (the identity of `f`).
fn scan<T: Scalar>(
    x: &Tensor,
    axis: usize,
    (exclusive, reverse): (bool, bool),
    init: T,
    f: impl Fn(T, T) -> T,
) -> Result<Tensor> {
    let xs = x.as_slice::<T>()?;
    let shape = x.shape();
    let n = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let mut y = vec![init; xs.len()];
    for base in (0..xs.len()).step_by((n * inner).max(1)) {
        for k in 0..inner {
            let mut acc = init;
            for step in 0..n {
                let i = base + k + inner * if reverse { n - 1 - step } else { step };
                if exclusive {
                    y[i] = acc;
                    acc = f(acc, xs[i]);
                } else {
                    acc = f(acc, xs[i]);
                    y[i] = acc;
                }
            }
        }
    }
    Ok(Tensor::from_vec(shape.to_vec(), y)?)
}

/// Evaluates CumSum (`product` false) or CumProd (`product` true).
pub(super) fn eval_cumulative(
    op: &str,
    product: bool,
    flags: (bool, bool),
    inputs: &Inputs,
) -> Result<Value> {
    let x = inputs.tensor(0)?;
    let ax = axis(op, inputs.tensor(1)?, x.rank())?;
    let y = dispatch_num!(x.dtype(), T => if product {
        scan::<T>(x, ax, flags, T::from_f64(1.0), |a, b| a.mul(b))?
    } else {
        scan::<T>(x, ax, flags, T::from_f64(0.0), |a, b| a.add(b))?
    });
    Ok(y.into())
}

impl Op for CumSum {
    fn op_type(&self) -> &str {
        "CumSum"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![same_as(ctx.inputs, 0)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        Ok(vec![eval_cumulative(
            "CumSum",
            false,
            (self.exclusive, self.reverse),
            inputs,
        )?])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        export(self.exclusive, self.reverse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    fn run(exclusive: bool, reverse: bool, x: Tensor, axis: i64) -> Tensor {
        eval1(
            &CumSum { exclusive, reverse },
            &[Some(x), Some(Tensor::scalar(axis))],
        )
        .unwrap()
    }

    #[test]
    fn one_d_modes() {
        // test_cumsum_1d, _exclusive, _reverse, _reverse_exclusive on [1, 2, 3, 4, 5].
        let x = || Tensor::vec1(vec![1f64, 2., 3., 4., 5.]);
        assert_eq!(
            run(false, false, x(), 0).to_vec::<f64>().unwrap(),
            [1., 3., 6., 10., 15.]
        );
        assert_eq!(
            run(true, false, x(), 0).to_vec::<f64>().unwrap(),
            [0., 1., 3., 6., 10.]
        );
        assert_eq!(
            run(false, true, x(), 0).to_vec::<f64>().unwrap(),
            [15., 14., 12., 9., 5.]
        );
        assert_eq!(
            run(true, true, x(), 0).to_vec::<f64>().unwrap(),
            [14., 12., 9., 5., 0.]
        );
    }

    #[test]
    fn two_d_axes() {
        // test_cumsum_2d_axis_0 / _axis_1 / _negative_axis on [[1,2,3],[4,5,6]].
        let x = || Tensor::from_vec(vec![2, 3], vec![1i32, 2, 3, 4, 5, 6]).unwrap();
        assert_eq!(
            run(false, false, x(), 0).to_vec::<i32>().unwrap(),
            [1, 2, 3, 5, 7, 9]
        );
        assert_eq!(
            run(false, false, x(), 1).to_vec::<i32>().unwrap(),
            [1, 3, 6, 4, 9, 15]
        );
        assert_eq!(
            run(false, false, x(), -1).to_vec::<i32>().unwrap(),
            [1, 3, 6, 4, 9, 15]
        );
        let bad = eval1(&CumSum::default(), &[Some(x()), Some(Tensor::scalar(2i64))]);
        assert!(bad.is_err());
        let bad = eval1(&CumSum::default(), &[Some(x()), Some(Tensor::scalar(0f32))]);
        assert!(bad.is_err());
    }
}
