//! Squeeze: <https://onnx.ai/onnx/operators/onnx__Squeeze.html>
//!
//! Inputs `data` (any type) and optional `axes` (1-D int64, v13+); output `squeezed`: `data`
//! without the listed size-1 dims, or without every size-1 dim when no axes are given.
//! Opset differences: v1 `axes` attribute (non-negative); v11 negative axes; v13 `axes` becomes
//! an input; later versions only add dtypes.

use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::array::common::{konst_ints, norm_axis, tensor_type, unknown_dims, vec_len};
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, Value, ValueType};
use edgeopt_tensor::Dim;

#[derive(Clone, Debug)]
pub struct Squeeze {
    /// The pre-v13 `axes` attribute; `None` when axes come from the input (or are absent).
    pub axes: Option<Vec<i64>>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(Squeeze {
        axes: ctx.attrs.ints("axes")?,
    }))
}

/// Marks the dims to drop; `dims` are the input dims, `axes` the requested ones.
fn dropped(axes: &[i64], rank: usize) -> Result<Vec<bool>> {
    let mut drop = vec![false; rank];
    for &a in axes {
        let k = norm_axis("Squeeze", a, rank)?;
        if drop[k] {
            bail!("Squeeze: axis {a} is repeated in {axes:?}");
        }
        drop[k] = true;
    }
    Ok(drop)
}

impl Op for Squeeze {
    fn op_type(&self) -> &str {
        "Squeeze"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let axes = self.axes.clone().or_else(|| konst_ints(ctx, 1));
        let has_axes = axes.is_some() || ctx.input(1) != &ValueType::Unknown;
        let shape = match (&x.shape, axes) {
            (Some(s), Some(a)) => {
                let drop = dropped(&a, s.len())?;
                for (k, d) in s.iter().enumerate() {
                    if drop[k] && matches!(d, Dim::Known(n) if *n != 1) {
                        bail!("Squeeze: axis {k} has size {d}, expected 1");
                    }
                }
                Some(
                    s.iter()
                        .zip(&drop)
                        .filter(|(_, &x)| !x)
                        .map(|(d, _)| d.clone())
                        .collect(),
                )
            }
            // Without axes every size-1 dim goes, which needs every dim to be known.
            (Some(s), None) if !has_axes => edgeopt_tensor::shape::concrete(s)
                .map(|c| c.into_iter().filter(|&d| d != 1).map(Dim::Known).collect()),
            // Axes unknown but their count known: only the rank is.
            (Some(s), None) => vec_len(ctx, 1)
                .and_then(|n| s.len().checked_sub(n))
                .map(unknown_dims),
            _ => None,
        };
        Ok(vec![tensor_type(x.dtype, shape)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let axes = match (&self.axes, inputs.opt_tensor(1)?) {
            (Some(a), _) => Some(a.clone()),
            (None, Some(t)) => Some(t.to_i64_vec()?),
            (None, None) => None,
        };
        let shape: Vec<usize> = match axes {
            Some(a) => {
                let drop = dropped(&a, x.rank())?;
                for (k, &d) in x.shape().iter().enumerate() {
                    if drop[k] && d != 1 {
                        bail!("Squeeze: axis {k} of input shape {:?} is not 1", x.shape());
                    }
                }
                x.shape()
                    .iter()
                    .zip(&drop)
                    .filter(|(_, &x)| !x)
                    .map(|(&d, _)| d)
                    .collect()
            }
            None => x.shape().iter().copied().filter(|&d| d != 1).collect(),
        };
        Ok(vec![x.reshape(shape)?.into()])
    }

    fn cost(&self, _ctx: &CostCtx) -> Cost {
        Cost::default()
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .opt_ints("axes", self.axes.as_deref())
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{eval1, infer};
    use edgeopt_tensor::{DType, Tensor};

    fn x() -> Tensor {
        Tensor::zeros(DType::F32, vec![1, 3, 1, 5]).unwrap()
    }

    #[test]
    fn squeezes_given_or_all_unit_dims() {
        let op = Squeeze { axes: None };
        let y = eval1(&op, &[Some(x()), Some(Tensor::vec1(vec![-2i64]))]).unwrap();
        assert_eq!(y.shape(), &[1, 3, 5]);
        assert_eq!(eval1(&op, &[Some(x())]).unwrap().shape(), &[3, 5]);
        let y = eval1(
            &Squeeze {
                axes: Some(vec![0]),
            },
            &[Some(x())],
        )
        .unwrap();
        assert_eq!(y.shape(), &[3, 1, 5]);
    }

    #[test]
    fn non_unit_or_repeated_axes_are_errors() {
        let op = Squeeze { axes: None };
        assert!(eval1(&op, &[Some(x()), Some(Tensor::vec1(vec![1i64]))]).is_err());
        assert!(eval1(&op, &[Some(x()), Some(Tensor::vec1(vec![0i64, -4]))]).is_err());
        assert!(eval1(&op, &[Some(x()), Some(Tensor::vec1(vec![4i64]))]).is_err());
    }

    #[test]
    fn infers_with_constant_axes() {
        let t = infer(
            &Squeeze { axes: None },
            &[Some(x()), Some(Tensor::vec1(vec![0i64, 2]))],
            1,
        )
        .unwrap();
        assert_eq!(t[0], ValueType::known(DType::F32, &[3, 5]));
        let t = infer(&Squeeze { axes: None }, &[Some(x())], 1).unwrap();
        assert_eq!(t[0], ValueType::known(DType::F32, &[3, 5]));
    }
}
