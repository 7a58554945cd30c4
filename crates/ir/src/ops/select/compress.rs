//! Compress: keeps the slices along an axis where a boolean condition is true.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Compress.html>
//!
//! Attribute: `axis` (optional; when absent the input is flattened first).
//! Inputs: `input` (any type), `condition` (1-D bool). Output: the selected slices.
//! Like numpy.compress, a condition shorter than the axis selects only among its first entries;
//! a longer one is accepted only if the extra entries are false.
//! Opset differences: 11 allows a negative axis; 28 adds bfloat16.

use super::common::take;
use super::non_zero::nonzero_mask;
use crate::attr::AttrList;
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::normalize_axis;
use edgeopt_tensor::Dim;

#[derive(Clone, Debug)]
pub struct Compress {
    pub axis: Option<i64>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(Compress {
        axis: ctx.attrs.int("axis")?,
    }))
}

/// Positions `< len` selected by `cond`, refusing true entries past the end.
fn selected(cond: &[bool], len: usize) -> Result<Vec<usize>> {
    if cond.iter().skip(len).any(|&c| c) {
        bail!(
            "Compress: condition has {} entries, selecting past the axis length {len}",
            cond.len()
        );
    }
    Ok(cond
        .iter()
        .take(len)
        .enumerate()
        .filter(|(_, &c)| c)
        .map(|(i, _)| i)
        .collect())
}

impl Op for Compress {
    fn op_type(&self) -> &str {
        "Compress"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let count = ctx
            .konst(1)
            .map(nonzero_mask)
            .transpose()?
            .map(|m| m.iter().filter(|&&c| c).count());
        let n = count.map(Dim::Known).unwrap_or(Dim::Unknown);
        let shape = match (self.axis, x.shape) {
            (None, _) => Some(vec![n]),
            (Some(a), Some(mut s)) => {
                let Ok(ax) = normalize_axis(a, s.len()) else {
                    bail!(
                        "Compress: axis {a} is out of range for an input of rank {}",
                        s.len()
                    )
                };
                s[ax] = n;
                Some(s)
            }
            (Some(_), None) => None,
        };
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: x.dtype,
            shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let c = inputs.tensor(1)?;
        if c.rank() != 1 {
            bail!("Compress: condition must be 1-D, got shape {:?}", c.shape());
        }
        let cond = nonzero_mask(c)?;
        let Some(a) = self.axis else {
            let idx = selected(&cond, x.len())?;
            let n = idx.len();
            return Ok(vec![take(x, &idx, vec![n])?.into()]);
        };
        let Ok(ax) = normalize_axis(a, x.rank()) else {
            bail!(
                "Compress: axis {a} is out of range for input of shape {:?}",
                x.shape()
            )
        };
        let shape = x.shape();
        let keep = selected(&cond, shape[ax])?;
        let outer: usize = shape[..ax].iter().product();
        let inner: usize = shape[ax + 1..].iter().product();
        let mut idx = Vec::with_capacity(outer * keep.len() * inner);
        for o in 0..outer {
            for &k in &keep {
                let base = (o * shape[ax] + k) * inner;
                idx.extend(base..base + inner);
            }
        }
        let mut out_shape = shape.to_vec();
        out_shape[ax] = keep.len();
        Ok(vec![take(x, &idx, out_shape)?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.movement()
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default().opt_int("axis", self.axis).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;
    use edgeopt_tensor::Tensor;

    fn x() -> Tensor {
        Tensor::from_vec(vec![3, 2], vec![1f32, 2., 3., 4., 5., 6.]).unwrap()
    }

    #[test]
    fn spec_examples() {
        // ONNX test_compress_0: axis 0, condition [0, 1, 1] -> [[3, 4], [5, 6]].
        let c = Tensor::vec1(vec![false, true, true]);
        let y = eval1(&Compress { axis: Some(0) }, &[Some(x()), Some(c)]).unwrap();
        assert_eq!(y.shape(), &[2, 2]);
        assert_eq!(y.as_slice::<f32>().unwrap(), &[3., 4., 5., 6.]);
        // test_compress_1: axis 1, condition [0, 1] -> [[2], [4], [6]].
        let c = Tensor::vec1(vec![false, true]);
        let y = eval1(&Compress { axis: Some(-1) }, &[Some(x()), Some(c)]).unwrap();
        assert_eq!(y.as_slice::<f32>().unwrap(), &[2., 4., 6.]);
        // test_compress_default_axis: flattened, condition [0, 1, 0, 0, 1] -> [2, 5].
        let c = Tensor::vec1(vec![false, true, false, false, true]);
        let y = eval1(&Compress { axis: None }, &[Some(x()), Some(c)]).unwrap();
        assert_eq!(y.as_slice::<f32>().unwrap(), &[2., 5.]);
    }

    #[test]
    fn too_long_condition_is_refused() {
        let c = Tensor::vec1(vec![false, false, false, true]);
        assert!(eval1(&Compress { axis: Some(0) }, &[Some(x()), Some(c)]).is_err());
    }
}
