//! Hardmax: 1 at the first maximum of each group of elements chosen by `axis`, 0 elsewhere.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Hardmax.html>.
//!
//! Attribute `axis` (int): before opset 13 (default 1) the input is coerced to 2-D at `axis`
//! and the maximum is taken over each whole row; from 13 (default -1) along that one axis (see
//! [`SoftmaxAxis`]). Input: float type T; output: T, same shape. Opset 13 adds bf16.
//! NaN counts as the maximum (numpy's argmax).

use super::common::SoftmaxAxis;
use crate::attr::{AttrList, Attribute};
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::util::same_as;
use crate::registry::BuildCtx;
use crate::{bail, Result, Value, ValueType};
use edgeopt_tensor::Tensor;

#[derive(Clone, Debug)]
pub struct Hardmax {
    pub axis: SoftmaxAxis,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(Hardmax {
        axis: SoftmaxAxis::parse(ctx)?,
    }))
}

impl Op for Hardmax {
    fn op_type(&self) -> &str {
        "Hardmax"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        if let Some(s) = ctx.tensor(0).concrete_shape() {
            self.axis.split("Hardmax", &s)?;
        }
        Ok(vec![same_as(ctx.inputs, 0)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        if !x.dtype().is_float() || x.dtype().is_encoded() {
            bail!(
                "Hardmax: input must be f16, bf16, f32 or f64, got {}",
                x.dtype()
            );
        }
        let (outer, n, inner) = self.axis.split("Hardmax", x.shape())?;
        let v = x.to_f64_vec()?;
        let mut y = vec![0f64; v.len()];
        for o in 0..outer {
            for k in 0..inner {
                let at = |i: usize| (o * n + i) * inner + k;
                let mut best = 0;
                for i in 1..n {
                    let (c, b) = (v[at(i)], v[at(best)]);
                    if !b.is_nan() && (c > b || c.is_nan()) {
                        best = i;
                    }
                }
                if n > 0 {
                    y[at(best)] = 1.0;
                }
            }
        }
        Ok(vec![
            Tensor::from_f64s(x.dtype(), x.shape().to_vec(), &y)?.into()
        ])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default().int("axis", self.axis.axis).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    #[test]
    fn spec_examples() {
        // test_hardmax_example and test_hardmax_one_hot (ties pick the first).
        let x = Tensor::from_vec(
            vec![4, 4],
            vec![
                3f32, 0., 1., 2., 2., 5., 1., 0., 0., 1., 3., 2., 0., 1., 2., 3.,
            ],
        );
        let op = Hardmax {
            axis: SoftmaxAxis {
                axis: -1,
                coerce_2d: false,
            },
        };
        let y = eval1(&op, &[Some(x.unwrap())])
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        assert_eq!(
            y,
            [1., 0., 0., 0., 0., 1., 0., 0., 0., 0., 1., 0., 0., 0., 0., 1.]
        );
        let y = eval1(
            &op,
            &[Some(
                Tensor::from_vec(vec![1, 4], vec![0f32, 0., 1., 1.]).unwrap(),
            )],
        )
        .unwrap();
        assert_eq!(y.to_vec::<f32>().unwrap(), [0., 0., 1., 0.]);
    }

    #[test]
    fn coerced_2d_before_opset_13() {
        // [2, 2, 2] at axis 1 (opset 11): one 1 per batch over its 4 trailing elements.
        let x = || {
            Some(Tensor::from_vec(vec![2, 2, 2], vec![0f32, 3., 5., 1., 9., 2., 2., 8.]).unwrap())
        };
        let op = Hardmax {
            axis: SoftmaxAxis {
                axis: 1,
                coerce_2d: true,
            },
        };
        assert_eq!(
            eval1(&op, &[x()]).unwrap().to_vec::<f32>().unwrap(),
            [0., 0., 1., 0., 1., 0., 0., 0.]
        );
        let op = Hardmax {
            axis: SoftmaxAxis {
                axis: 1,
                coerce_2d: false,
            },
        };
        assert_eq!(
            eval1(&op, &[x()]).unwrap().to_vec::<f32>().unwrap(),
            [0., 1., 1., 0., 1., 0., 0., 1.]
        );
    }
}
