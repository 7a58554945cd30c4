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

/// Rounding between steps. f32/f64 compute straight through (and LogSoftmax as
/// `x - max - ln(sum)`, which cannot underflow). Half types reproduce numpy, the ONNX reference
/// that produced the expected outputs: each element-wise step rounds to the half type, float16
/// sums in f32, and bfloat16 (ml_dtypes) rounds every partial sum too. Computing in f32 and
/// rounding once differs by an ulp, which is beyond the 1e-3 tolerance for bf16.
#[derive(Clone, Copy, PartialEq)]
enum Steps {
    Exact,
    F16,
    BF16,
}

fn round(steps: Steps, v: f32) -> f32 {
    match steps {
        Steps::Exact => v,
        Steps::F16 => f16::from_f32(v).to_f32(),
        Steps::BF16 => bf16::from_f32(v).to_f32(),
    }
}

/// Normalizes every group of `x` in place; `r` rounds after each element-wise step and
/// `r_partial` after each addition of the sum.
fn softmax<F: Float>(
    x: &mut [F],
    (outer, n, inner): (usize, usize, usize),
    log: bool,
    r: impl Fn(F) -> F,
    r_partial: impl Fn(F) -> F,
) {
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
                let e = r(r(x[at(i)] - max).exp());
                sum = r_partial(sum + e);
                if !log {
                    x[at(i)] = e;
                }
            }
            let (sum, ls) = (r(sum), sum.ln());
            for i in 0..n {
                x[at(i)] = if log {
                    x[at(i)] - max - ls
                } else {
                    r(x[at(i)] / sum)
                };
            }
        }
    }
}

/// Softmax or LogSoftmax of f32 values computed with `steps`.
fn softmax_f32(v: &mut [f32], groups: (usize, usize, usize), log: bool, steps: Steps) {
    let r = |v| round(steps, v);
    match steps {
        Steps::Exact => softmax(v, groups, log, |v| v, |v| v),
        // numpy's LogSoftmax is log(Softmax(x)), each rounded.
        Steps::F16 | Steps::BF16 => {
            let partial = move |v| if steps == Steps::BF16 { r(v) } else { v };
            softmax(v, groups, false, r, partial);
            if log {
                v.iter_mut().for_each(|x| *x = r(x.ln()));
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
                let steps = match x.dtype() {
                    DType::F16 => Steps::F16,
                    DType::BF16 => Steps::BF16,
                    _ => Steps::Exact,
                };
                softmax_f32(&mut v, groups, self.log, steps);
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
                softmax(&mut v, groups, self.log, |v| v, |v| v);
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
    fn bf16_rounds_like_numpy() {
        // numpy + ml_dtypes (the ONNX reference) on bf16 [0.1, 0.2, ..., 0.9]; computing in f32
        // and rounding once gives 0.09716796875, 0.119140625, 0.1455078125 at indices 3, 5, 7.
        let x: Vec<bf16> = (1..10).map(|i| bf16::from_f32(i as f32 / 10.0)).collect();
        let y = eval1(&op(false, -1, false), &[Some(Tensor::vec1(x))]).unwrap();
        let y: Vec<f32> = y
            .to_vec::<bf16>()
            .unwrap()
            .iter()
            .map(|v| v.to_f32())
            .collect();
        let want: [f64; 9] = [
            0.072265625,
            0.07958984375,
            0.087890625,
            0.09765625,
            0.107421875,
            0.11865234375,
            0.130859375,
            0.14453125,
            0.16015625,
        ];
        assert_eq!(y, want.map(|v| v as f32));
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
