//! Unsqueeze: <https://onnx.ai/onnx/operators/onnx__Unsqueeze.html>
//!
//! Inputs `data` (any type) and `axes` (1-D int64, v13+); output `expanded`: `data` with a
//! size-1 dim inserted at each listed axis of the *output* (rank + len(axes)), in any order.
//! Opset differences: v1 `axes` attribute (non-negative); v11 negative axes; v13 `axes`
//! becomes an input; later versions only add dtypes.

use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::array::common::{konst_ints, norm_axis, tensor_type, unknown_dims, vec_len};
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, Value, ValueType};
use edgeopt_tensor::Dim;

#[derive(Clone, Debug)]
pub struct Unsqueeze {
    /// The pre-v13 `axes` attribute; `None` when axes are the second input.
    pub axes: Option<Vec<i64>>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let axes = ctx.attrs.ints("axes")?;
    if axes.is_none() && ctx.num_inputs < 2 {
        bail!("Unsqueeze: 'axes' is missing (an input since opset 13, an attribute before)");
    }
    Ok(Box::new(Unsqueeze { axes }))
}

/// Inserts `one` at each of `axes` (relative to the output rank) into `dims`.
pub fn unsqueeze_dims<D: Clone>(dims: &[D], axes: &[i64], one: D) -> Result<Vec<D>> {
    let r = dims.len() + axes.len();
    let mut inserted = vec![false; r];
    for &a in axes {
        let k = norm_axis("Unsqueeze", a, r)?;
        if inserted[k] {
            bail!("Unsqueeze: axis {a} is repeated in {axes:?}");
        }
        inserted[k] = true;
    }
    let mut src = dims.iter();
    Ok(inserted
        .iter()
        .map(|&ins| {
            if ins {
                Some(one.clone())
            } else {
                src.next().cloned()
            }
        })
        .collect::<Option<_>>()
        .unwrap_or_default())
}

impl Op for Unsqueeze {
    fn op_type(&self) -> &str {
        "Unsqueeze"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let axes = self.axes.clone().or_else(|| konst_ints(ctx, 1));
        let shape = match (&x.shape, axes) {
            (Some(s), Some(a)) => Some(unsqueeze_dims(s, &a, Dim::Known(1))?),
            (Some(s), None) => vec_len(ctx, 1).map(|n| unknown_dims(s.len() + n)),
            (None, Some(a)) => x.rank().map(|r| unknown_dims(r + a.len())),
            (None, None) => None,
        };
        Ok(vec![tensor_type(x.dtype, shape)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let axes = match &self.axes {
            Some(a) => a.clone(),
            None => inputs.tensor(1)?.to_i64_vec()?,
        };
        Ok(vec![x
            .reshape(unsqueeze_dims(x.shape(), &axes, 1)?)?
            .into()])
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

    fn run(shape: Vec<usize>, axes: Vec<i64>) -> Result<Vec<usize>> {
        let x = Tensor::zeros(DType::F32, shape)?;
        let y = eval1(
            &Unsqueeze { axes: None },
            &[Some(x), Some(Tensor::vec1(axes))],
        )?;
        Ok(y.shape().to_vec())
    }

    #[test]
    fn inserts_at_output_positions() {
        // Cases from the ONNX Unsqueeze backend tests (input [3, 4, 5]).
        assert_eq!(
            run(vec![3, 4, 5], vec![2, 4, 5]).unwrap(),
            vec![3, 4, 1, 5, 1, 1]
        );
        assert_eq!(
            run(vec![3, 4, 5], vec![5, 4, 2]).unwrap(),
            vec![3, 4, 1, 5, 1, 1]
        );
        assert_eq!(
            run(vec![1, 3, 1, 5], vec![-2]).unwrap(),
            vec![1, 3, 1, 1, 5]
        );
        assert_eq!(run(vec![], vec![0]).unwrap(), vec![1]);
    }

    #[test]
    fn bad_axes_are_errors() {
        assert!(run(vec![3], vec![2]).is_err());
        assert!(run(vec![3], vec![0, 0]).is_err());
    }

    #[test]
    fn infers_with_attribute_axes() {
        let x = Tensor::zeros(DType::I32, vec![3, 4]).unwrap();
        let t = infer(
            &Unsqueeze {
                axes: Some(vec![0, -1]),
            },
            &[Some(x)],
            1,
        )
        .unwrap();
        assert_eq!(t[0], ValueType::known(DType::I32, &[1, 3, 4, 1]));
    }
}
