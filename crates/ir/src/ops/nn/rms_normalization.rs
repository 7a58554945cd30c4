//! RMSNormalization: `Y = X / sqrt(mean(X^2 over axes axis..) + epsilon) * scale`.
//! Spec: <https://onnx.ai/onnx/operators/onnx__RMSNormalization.html>
//!
//! Attributes: `axis` (-1), `epsilon` (1e-5), `stash_type` (1; computation here is in f64).
//! Inputs: `X` (T, float), `scale` (V, float, broadcastable to X). Output: `Y` of scale's
//! dtype V and X's shape.
//! Opsets: 23.

use crate::attr::AttrList;
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::nn::common::{broadcast_f64, float_input};
use crate::ops::nn::layer_normalization::stash_dtype;
use crate::registry::BuildCtx;
use crate::{Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::normalize_axis;
use edgeopt_tensor::Tensor;

#[derive(Clone, Debug)]
pub struct RMSNormalization {
    pub axis: Option<i64>,
    pub epsilon: Option<f32>,
    pub stash_type: Option<i64>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let a = &mut ctx.attrs;
    let op = RMSNormalization {
        axis: a.int("axis")?,
        epsilon: a.float("epsilon")?,
        stash_type: a.int("stash_type")?,
    };
    stash_dtype("RMSNormalization", op.stash_type)?;
    Ok(Box::new(op))
}

impl Op for RMSNormalization {
    fn op_type(&self) -> &str {
        "RMSNormalization"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        if let Some(s) = &x.shape {
            normalize_axis(self.axis.unwrap_or(-1), s.len())?;
        }
        let dtype = ctx.tensor(1).dtype.or(x.dtype);
        Ok(vec![ValueType::Tensor(TensorType {
            dtype,
            shape: x.shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let op = "RMSNormalization";
        let (x, s) = (inputs.tensor(0)?, inputs.tensor(1)?);
        float_input(op, x, 1)?;
        let shape = x.shape();
        let axis = normalize_axis(self.axis.unwrap_or(-1), shape.len())?;
        let inner: usize = shape[axis..].iter().product();
        let scale = broadcast_f64(op, "scale", s, shape)?;
        let eps = self.epsilon.unwrap_or(1e-5) as f64;
        let xv = x.to_f64_vec()?;
        let mut y = Vec::with_capacity(xv.len());
        for (r, row) in xv.chunks(inner.max(1)).enumerate() {
            let ms = row.iter().map(|v| v * v).sum::<f64>() / row.len() as f64;
            let inv = 1.0 / (ms + eps).sqrt();
            y.extend(
                row.iter()
                    .enumerate()
                    .map(|(j, v)| v * inv * scale[r * inner + j]),
            );
        }
        Ok(vec![
            Tensor::from_f64s(s.dtype(), shape.to_vec(), &y)?.into()
        ])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .opt_int("axis", self.axis)
            .opt_float("epsilon", self.epsilon)
            .opt_int("stash_type", self.stash_type)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval1};

    #[test]
    fn rows_scaled_by_rms() {
        // Row [3, 4]: rms = sqrt(12.5); row [0, 0] stays 0 with epsilon.
        let x = Tensor::from_vec(vec![2, 2], vec![3f32, 4., 0., 0.]).unwrap();
        let op = RMSNormalization {
            axis: None,
            epsilon: Some(0.0),
            stash_type: None,
        };
        let y = eval1(&op, &[Some(x.clone()), Some(Tensor::vec1(vec![1f32, 2.]))]).unwrap();
        let r = 12.5f32.sqrt();
        let v = y.as_slice::<f32>().unwrap();
        assert_close(&v[..2], &[3. / r, 8. / r], 1e-6, 1e-6);
        assert!(v[2].is_nan());
        let op = RMSNormalization {
            axis: Some(0),
            epsilon: Some(1.0),
            stash_type: None,
        };
        let y = eval1(&op, &[Some(x), Some(Tensor::scalar(1f32))]).unwrap();
        // mean of squares over everything = 25/4, + 1 -> sqrt(7.25).
        assert_close(
            y.as_slice::<f32>().unwrap(),
            &[3. / 7.25f32.sqrt(), 4. / 7.25f32.sqrt(), 0., 0.],
            1e-6,
            1e-6,
        );
    }
}
