//! LayerNormalization gradient over the trailing axes from `axis`, statistics recomputed.

use super::util::{f32_in, infer_like, numel, out};
use super::DOMAIN;
use edgeopt_ir::{bail, EvalCtx, InferCtx, Inputs, Op, Result, Value, ValueType};

/// LayerNormGrad(dY, X, scale) -> (dX, dscale, dbias).
#[derive(Clone, Debug)]
pub struct LayerNormGrad {
    pub axis: i64,
    pub epsilon: f32,
}

impl Op for LayerNormGrad {
    fn op_type(&self) -> &str {
        "LayerNormGrad"
    }
    fn domain(&self) -> &str {
        DOMAIN
    }
    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        infer_like(ctx, &[1, 2, 2])
    }
    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (dy, sdy) = f32_in("LayerNormGrad", inputs, 0)?;
        let (x, sx) = f32_in("LayerNormGrad", inputs, 1)?;
        let (scale, ss) = f32_in("LayerNormGrad", inputs, 2)?;
        let r = sx.len() as i64;
        let axis = if self.axis < 0 {
            self.axis + r
        } else {
            self.axis
        };
        if sdy != sx || axis < 0 || axis >= r {
            bail!("LayerNormGrad: dY {sdy:?}, X {sx:?}, axis {}", self.axis);
        }
        let inner = numel(&sx[axis as usize..]);
        if scale.len() != inner {
            bail!("LayerNormGrad: scale {ss:?} must have {inner} elements (X {sx:?}, axis {axis}); broadcast scales are not supported");
        }
        let rows = x.len().checked_div(inner).unwrap_or(0);
        let mut dx = vec![0f32; x.len()];
        let mut dscale = vec![0f64; inner];
        let mut dbias = vec![0f64; inner];
        let mut xhat = vec![0f32; inner];
        for row in 0..rows {
            let xs = &x[row * inner..(row + 1) * inner];
            let gs = &dy[row * inner..(row + 1) * inner];
            let mean = xs.iter().map(|&v| v as f64).sum::<f64>() / inner as f64;
            let var = xs.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / inner as f64;
            let inv = 1.0 / (var + self.epsilon as f64).sqrt();
            let (mut sg, mut sgx) = (0f64, 0f64);
            for j in 0..inner {
                xhat[j] = ((xs[j] as f64 - mean) * inv) as f32;
                let g = (gs[j] * scale[j]) as f64;
                sg += g;
                sgx += g * xhat[j] as f64;
                dscale[j] += (gs[j] * xhat[j]) as f64;
                dbias[j] += gs[j] as f64;
            }
            let (mg, mgx) = (sg / inner as f64, sgx / inner as f64);
            for j in 0..inner {
                let g = (gs[j] * scale[j]) as f64;
                dx[row * inner + j] = (inv * (g - mg - xhat[j] as f64 * mgx)) as f32;
            }
        }
        let f = |v: Vec<f64>| v.into_iter().map(|a| a as f32).collect::<Vec<f32>>();
        Ok(vec![out(sx, dx)?, out(ss, f(dscale))?, out(ss, f(dbias))?])
    }
}
