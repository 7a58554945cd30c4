//! LpNormalization: divides by the L1 or L2 norm along one axis (0 where the norm is 0).
//! Spec: <https://onnx.ai/onnx/operators/onnx__LpNormalization.html>
//!
//! Attributes: `axis` (-1), `p` (2; 1 or 2).
//! Input/output: `input` -> `output`, float types.
//! Opsets: 1, 22 (bf16).

use crate::attr::AttrList;
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::nn::common::float_input;
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, Value, ValueType};
use edgeopt_tensor::shape::normalize_axis;
use edgeopt_tensor::Tensor;

#[derive(Clone, Debug)]
pub struct LpNormalization {
    pub axis: Option<i64>,
    pub p: Option<i64>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let op = LpNormalization {
        axis: ctx.attrs.int("axis")?,
        p: ctx.attrs.int("p")?,
    };
    if !matches!(op.p, None | Some(1) | Some(2)) {
        bail!("LpNormalization: p must be 1 or 2, got {:?}", op.p);
    }
    Ok(Box::new(op))
}

impl Op for LpNormalization {
    fn op_type(&self) -> &str {
        "LpNormalization"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![ctx.input(0).clone()])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        float_input("LpNormalization", x, 1)?;
        let shape = x.shape();
        let axis = normalize_axis(self.axis.unwrap_or(-1), shape.len())?;
        let (len, inner) = (shape[axis], shape[axis + 1..].iter().product::<usize>());
        let mut y = x.to_f64_vec()?;
        let two = self.p.unwrap_or(2) == 2;
        for block in y.chunks_mut((len * inner).max(1)) {
            for i in 0..inner {
                let vals = (0..len).map(|k| block[k * inner + i]);
                let norm = if two {
                    vals.map(|v| v * v).sum::<f64>().sqrt()
                } else {
                    vals.map(f64::abs).sum()
                };
                for k in 0..len {
                    let v = &mut block[k * inner + i];
                    *v = if norm == 0.0 { 0.0 } else { *v / norm };
                }
            }
        }
        Ok(vec![
            Tensor::from_f64s(x.dtype(), shape.to_vec(), &y)?.into()
        ])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .opt_int("axis", self.axis)
            .opt_int("p", self.p)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval1};

    #[test]
    fn l1_and_l2_along_axes() {
        let x = Tensor::from_vec(vec![2, 2], vec![3f32, 4., 0., 0.]).unwrap();
        let y = eval1(
            &LpNormalization {
                axis: None,
                p: None,
            },
            &[Some(x.clone())],
        )
        .unwrap();
        assert_close(
            y.as_slice::<f32>().unwrap(),
            &[0.6, 0.8, 0., 0.],
            1e-6,
            1e-6,
        );
        let y = eval1(
            &LpNormalization {
                axis: Some(0),
                p: Some(1),
            },
            &[Some(x)],
        )
        .unwrap();
        assert_close(y.as_slice::<f32>().unwrap(), &[1., 1., 0., 0.], 1e-6, 1e-6);
    }
}
