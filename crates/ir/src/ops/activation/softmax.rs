//! Softmax and LogSoftmax: `exp(x - max) / sum(exp(x - max))` (or its logarithm) over groups of
//! elements chosen by `axis`. Spec: <https://onnx.ai/onnx/operators/onnx__Softmax.html> and
//! <https://onnx.ai/onnx/operators/onnx__LogSoftmax.html>.
//!
//! Attribute `axis` (int): before opset 13 (default 1), the input is coerced to 2-D at `axis`
//! and each row is normalized; from 13 (default -1), normalization runs along that one axis
//! (see [`SoftmaxAxis`]). Input: float type T; output: T, same shape. Opset 13 adds bf16.
//! Half types compute in f32.

use super::common::SoftmaxAxis;
use crate::attr::{AttrList, Attribute};
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::util::same_as;
use crate::registry::BuildCtx;
use crate::{bail, Result, Value, ValueType};
use edgeopt_tensor::{bf16, f16, DType, Tensor};
use num_traits::Float;

#[derive(Clone, Debug)]
pub struct Softmax {
    pub log: bool,
    pub axis: SoftmaxAxis,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(Softmax {
        log: false,
        axis: SoftmaxAxis::parse(ctx)?,
    }))
}

pub fn build_log(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(Softmax {
        log: true,
        axis: SoftmaxAxis::parse(ctx)?,
    }))
}

/// Normalizes every group of `x` in place.
fn softmax<F: Float>(x: &mut [F], (outer, n, inner): (usize, usize, usize), log: bool) {
    for o in 0..outer {
        for k in 0..inner {
            let at = |i: usize| (o * n + i) * inner + k;
            let max = (0..n).map(|i| x[at(i)]).fold(F::neg_infinity(), |m, v| {
                if v > m || v.is_nan() {
                    v
                } else {
                    m
                }
            });
            let mut sum = F::zero();
            for i in 0..n {
                let e = (x[at(i)] - max).exp();
                sum = sum + e;
                if !log {
                    x[at(i)] = e;
                }
            }
            let ls = sum.ln();
            for i in 0..n {
                x[at(i)] = if log {
                    x[at(i)] - max - ls
                } else {
                    x[at(i)] / sum
                };
            }
        }
    }
}

impl Softmax {
    fn name(&self) -> &'static str {
        if self.log {
            "LogSoftmax"
        } else {
            "Softmax"
        }
    }
}

impl Op for Softmax {
    fn op_type(&self) -> &str {
        self.name()
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        if let Some(s) = ctx.tensor(0).concrete_shape() {
            self.axis.split(self.name(), &s)?;
        }
        Ok(vec![same_as(ctx.inputs, 0)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let groups = self.axis.split(self.name(), x.shape())?;
        let shape = x.shape().to_vec();
        let y = match x.dtype() {
            DType::F32 | DType::F16 | DType::BF16 => {
                let mut v: Vec<f32> = match x.dtype() {
                    DType::F16 => x.as_slice::<f16>()?.iter().map(|h| h.to_f32()).collect(),
                    DType::BF16 => x.as_slice::<bf16>()?.iter().map(|h| h.to_f32()).collect(),
                    _ => x.to_vec::<f32>()?,
                };
                softmax(&mut v, groups, self.log);
                match x.dtype() {
                    DType::F16 => {
                        Tensor::from_vec(shape, v.into_iter().map(f16::from_f32).collect())?
                    }
                    DType::BF16 => {
                        Tensor::from_vec(shape, v.into_iter().map(bf16::from_f32).collect())?
                    }
                    _ => Tensor::from_vec(shape, v)?,
                }
            }
            DType::F64 => {
                let mut v = x.to_vec::<f64>()?;
                softmax(&mut v, groups, self.log);
                Tensor::from_vec(shape, v)?
            }
            d => bail!(
                "{}: input must be f16, bf16, f32 or f64, got {d}",
                self.name()
            ),
        };
        Ok(vec![y.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        // max, subtract, exp, sum, divide.
        ctx.elementwise(5)
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default().int("axis", self.axis.axis).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval1};

    fn op(log: bool, axis: i64, coerce_2d: bool) -> Softmax {
        Softmax {
            log,
            axis: SoftmaxAxis { axis, coerce_2d },
        }
    }

    #[test]
    fn spec_example_and_large_numbers() {
        // test_softmax_example: [[-1, 0, 1]] -> [[0.09003058, 0.24472848, 0.66524094]].
        let x = || Some(Tensor::from_vec(vec![1, 3], vec![-1f32, 0., 1.]).unwrap());
        let y = eval1(&op(false, -1, false), &[x()]).unwrap();
        assert_close(
            &y.to_vec::<f32>().unwrap(),
            &[0.09003058, 0.24472848, 0.66524094],
            1e-7,
            1e-6,
        );
        let y = eval1(&op(true, -1, false), &[x()]).unwrap();
        assert_close(
            &y.to_vec::<f32>().unwrap(),
            &[-2.407606, -1.407606, -0.40760595],
            1e-6,
            1e-6,
        );
        // test_softmax_large_number: no overflow for 10000-ish inputs.
        let x = Tensor::vec1(vec![10000f32, 10001., 10002., 10003.]);
        let y = eval1(&op(false, -1, false), &[Some(x)]).unwrap();
        assert_close(
            &y.to_vec::<f32>().unwrap(),
            &[0.0320586, 0.08714432, 0.2368828, 0.6439143],
            1e-6,
            1e-5,
        );
    }

    #[test]
    fn axis_semantics_by_opset() {
        // [2, 2, 2] at axis 1: opset 13 normalizes pairs along axis 1; opset 11 normalizes
        // each batch's 4 trailing elements together.
        let x = || {
            Some(Tensor::from_vec(vec![2, 2, 2], vec![0f64, 0., 0., 0., 1., 1., 1., 1.]).unwrap())
        };
        let y = eval1(&op(false, 1, false), &[x()])
            .unwrap()
            .to_vec::<f64>()
            .unwrap();
        assert!(y.iter().all(|&v| (v - 0.5).abs() < 1e-12));
        let y = eval1(&op(false, 1, true), &[x()])
            .unwrap()
            .to_vec::<f64>()
            .unwrap();
        assert!(y.iter().all(|&v| (v - 0.25).abs() < 1e-12));
        let y = eval1(&op(false, 0, true), &[x()])
            .unwrap()
            .to_vec::<f64>()
            .unwrap();
        assert!((y.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(eval1(&op(false, 3, false), &[x()]).is_err());
        assert!(eval1(&op(false, 0, false), &[Some(Tensor::vec1(vec![1i32]))]).is_err());
    }
}
