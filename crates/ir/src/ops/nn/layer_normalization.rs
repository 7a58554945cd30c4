//! LayerNormalization: normalizes over the trailing axes `axis..`, then scales and shifts.
//! Spec: <https://onnx.ai/onnx/operators/onnx__LayerNormalization.html>
//!
//! Attributes: `axis` (-1), `epsilon` (1e-5), `stash_type` (1 = float: the dtype of Mean and
//! InvStdDev; computation here is always in f64).
//! Inputs: `X` (float), `Scale` and optional `B`, broadcastable to `X`'s shape.
//! Outputs: `Y` (X's dtype), optional `Mean` and `InvStdDev` of shape
//! `X.shape[..axis] + [1] * (rank - axis)`.
//! Opsets: 17.

use crate::attr::AttrList;
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::nn::common::{broadcast_f64, float_input, row_moments};
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::normalize_axis;
use edgeopt_tensor::{DType, Dim, Tensor};

#[derive(Clone, Debug)]
pub struct LayerNormalization {
    pub axis: Option<i64>,
    pub epsilon: Option<f32>,
    pub stash_type: Option<i64>,
}

/// The dtype a `stash_type` attribute names (default 1, float).
pub fn stash_dtype(op: &str, stash_type: Option<i64>) -> Result<DType> {
    let code = stash_type.unwrap_or(1);
    match DType::from_onnx_code(code as i32) {
        Some(d) if d.is_float() => Ok(d),
        _ => bail!("{op}: stash_type {code} is not a float type"),
    }
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let a = &mut ctx.attrs;
    let op = LayerNormalization {
        axis: a.int("axis")?,
        epsilon: a.float("epsilon")?,
        stash_type: a.int("stash_type")?,
    };
    stash_dtype("LayerNormalization", op.stash_type)?;
    Ok(Box::new(op))
}

impl LayerNormalization {
    fn axis(&self, rank: usize) -> Result<usize> {
        Ok(normalize_axis(self.axis.unwrap_or(-1), rank)?)
    }
}

impl Op for LayerNormalization {
    fn op_type(&self) -> &str {
        "LayerNormalization"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let mut out = vec![ValueType::Tensor(x.clone())];
        let stats_shape = match &x.shape {
            Some(s) => {
                let axis = self.axis(s.len())?;
                let mut v = s[..axis].to_vec();
                v.extend(vec![Dim::Known(1); s.len() - axis]);
                Some(v)
            }
            None => None,
        };
        let stats = ValueType::Tensor(TensorType {
            dtype: Some(stash_dtype("LayerNormalization", self.stash_type)?),
            shape: stats_shape,
        });
        out.extend(std::iter::repeat_n(
            stats,
            ctx.num_outputs.saturating_sub(1),
        ));
        Ok(out)
    }

    fn eval(&self, ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let op = "LayerNormalization";
        let x = inputs.tensor(0)?;
        float_input(op, x, 1)?;
        let shape = x.shape();
        let axis = self.axis(shape.len())?;
        let inner: usize = shape[axis..].iter().product();
        let scale = broadcast_f64(op, "Scale", inputs.tensor(1)?, shape)?;
        let bias = inputs
            .opt_tensor(2)?
            .map(|b| broadcast_f64(op, "B", b, shape))
            .transpose()?;
        let eps = self.epsilon.unwrap_or(1e-5) as f64;
        let xv = x.to_f64_vec()?;
        let moments = row_moments(&xv, inner);
        let mut y = Vec::with_capacity(xv.len());
        let (mut means, mut inv) = (
            Vec::with_capacity(moments.len()),
            Vec::with_capacity(moments.len()),
        );
        for (r, &(mean, var)) in moments.iter().enumerate() {
            let is = 1.0 / (var + eps).sqrt();
            means.push(mean);
            inv.push(is);
            for j in r * inner..(r + 1) * inner {
                let v = (xv[j] - mean) * is * scale[j];
                y.push(bias.as_ref().map_or(v, |b| v + b[j]));
            }
        }
        let mut out = vec![Tensor::from_f64s(x.dtype(), shape.to_vec(), &y)?.into()];
        let mut sshape = shape[..axis].to_vec();
        sshape.extend(vec![1; shape.len() - axis]);
        let sd = stash_dtype(op, self.stash_type)?;
        for v in [means, inv].iter().take(ctx.num_outputs.saturating_sub(1)) {
            out.push(Tensor::from_f64s(sd, sshape.clone(), v)?.into());
        }
        Ok(out)
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
    use crate::ops::testing::{assert_close, eval};

    #[test]
    fn normalizes_trailing_axes_with_stats() {
        // Rows [1, 2, 3] and [2, 4, 6]: mean 2 / 4, variance 2/3 and 8/3 (numpy).
        let x = Tensor::from_vec(vec![2, 3], vec![1f32, 2., 3., 2., 4., 6.]).unwrap();
        let scale = Tensor::vec1(vec![1f32, 2., 1.]);
        let b = Tensor::vec1(vec![0f32, 0., 1.]);
        let op = LayerNormalization {
            axis: None,
            epsilon: Some(0.0),
            stash_type: None,
        };
        let out = eval(&op, &[Some(x), Some(scale), Some(b)], 3).unwrap();
        let y = out[0].as_tensor().unwrap().to_vec::<f32>().unwrap();
        let k = 1.5f32.sqrt();
        assert_close(&y, &[-k, 0., 1. + k, -k, 0., 1. + k], 1e-6, 1e-6);
        let mean = out[1].as_tensor().unwrap();
        assert_eq!(
            (mean.shape(), mean.to_vec::<f32>().unwrap()),
            (&[2usize, 1][..], vec![2., 4.])
        );
        let inv = out[2].as_tensor().unwrap().to_vec::<f32>().unwrap();
        assert_close(&inv, &[1.5f32.sqrt(), 0.375f32.sqrt()], 1e-6, 1e-6);
    }

    #[test]
    fn axis_zero_and_errors() {
        let x = Tensor::from_vec(vec![2, 2], vec![0f64, 2., 4., 6.]).unwrap();
        let op = LayerNormalization {
            axis: Some(0),
            epsilon: Some(0.0),
            stash_type: None,
        };
        let out = eval(&op, &[Some(x.clone()), Some(Tensor::scalar(1f64))], 1).unwrap();
        let y = out[0].as_tensor().unwrap().to_vec::<f64>().unwrap();
        let s = 5f64.sqrt();
        assert_close(
            &y.iter().map(|&v| v as f32).collect::<Vec<_>>(),
            &[-3. / s, -1. / s, 1. / s, 3. / s].map(|v| v as f32),
            1e-6,
            1e-6,
        );
        let bad = LayerNormalization {
            axis: Some(2),
            epsilon: None,
            stash_type: None,
        };
        assert!(eval(&bad, &[Some(x.clone()), Some(Tensor::scalar(1f64))], 1).is_err());
        assert!(eval(&op, &[Some(x), Some(Tensor::vec1(vec![1f64; 3]))], 1).is_err());
    }
}
