//! LRN: local response normalization across channels,
//! `y = x / (bias + alpha / size * sum(x^2 over nearby channels))^beta`.
//! Spec: <https://onnx.ai/onnx/operators/onnx__LRN.html>
//!
//! Attributes: `size` (required, odd in practice), `alpha` (1e-4), `beta` (0.75), `bias` (1).
//! The window for channel c is `[c - floor((size-1)/2), c + ceil((size-1)/2)]`, clipped.
//! Input/output: `X` `[N, C, D1...]` -> `Y`, float types.
//! Opsets: 1, 13 (bf16).

use crate::attr::AttrList;
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::nn::common::float_input;
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, Value, ValueType};
use edgeopt_tensor::Tensor;

#[derive(Clone, Debug)]
pub struct Lrn {
    pub size: i64,
    pub alpha: Option<f32>,
    pub beta: Option<f32>,
    pub bias: Option<f32>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let a = &mut ctx.attrs;
    let size = a.req_int("size")?;
    if size < 1 {
        bail!("LRN: size must be >= 1, got {size}");
    }
    Ok(Box::new(Lrn {
        size,
        alpha: a.float("alpha")?,
        beta: a.float("beta")?,
        bias: a.float("bias")?,
    }))
}

impl Op for Lrn {
    fn op_type(&self) -> &str {
        "LRN"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![ctx.input(0).clone()])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        float_input("LRN", x, 3)?;
        let shape = x.shape();
        let (c, inner) = (shape[1], shape[2..].iter().product::<usize>());
        let size = self.size as usize;
        let (before, after) = ((size - 1) / 2, (size - 1).div_ceil(2));
        let (alpha, beta, bias) = (
            self.alpha.unwrap_or(1e-4) as f64,
            self.beta.unwrap_or(0.75) as f64,
            self.bias.unwrap_or(1.0) as f64,
        );
        let xv = x.to_f64_vec()?;
        let mut y = vec![0.0; xv.len()];
        for (xi, yi) in xv
            .chunks((c * inner).max(1))
            .zip(y.chunks_mut((c * inner).max(1)))
        {
            for ch in 0..c {
                let (lo, hi) = (ch.saturating_sub(before), (ch + after).min(c - 1));
                for p in 0..inner {
                    let sq: f64 = (lo..=hi)
                        .map(|k| xi[k * inner + p] * xi[k * inner + p])
                        .sum();
                    yi[ch * inner + p] =
                        xi[ch * inner + p] / (bias + alpha / size as f64 * sq).powf(beta);
                }
            }
        }
        Ok(vec![
            Tensor::from_f64s(x.dtype(), shape.to_vec(), &y)?.into()
        ])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .int("size", self.size)
            .opt_float("alpha", self.alpha)
            .opt_float("beta", self.beta)
            .opt_float("bias", self.bias)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval1};

    #[test]
    fn window_over_channels() {
        // 3 channels [1, 2, 3], size 3, alpha 3, beta 1, bias 1: sums of squares over
        // neighbours are 5, 14, 13 -> y = x / (1 + sum).
        let x = Tensor::from_vec(vec![1, 3, 1], vec![1f32, 2., 3.]).unwrap();
        let op = Lrn {
            size: 3,
            alpha: Some(3.0),
            beta: Some(1.0),
            bias: None,
        };
        let y = eval1(&op, &[Some(x)]).unwrap();
        assert_close(
            y.as_slice::<f32>().unwrap(),
            &[1. / 6., 2. / 15., 3. / 14.],
            1e-6,
            1e-6,
        );
    }
}
