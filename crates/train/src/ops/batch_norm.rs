//! BatchNormalization in training mode (batch statistics, running statistics updated as in the
//! ONNX spec: `running = running * momentum + batch * (1 - momentum)`, population variance) and
//! its gradient.

use super::util::{f32_in, infer_like, numel, out};
use super::DOMAIN;
use edgeopt_ir::{bail, EvalCtx, InferCtx, Inputs, Op, Result, Value, ValueType};

/// BatchNormTrain(X, scale, B, running_mean, running_var) ->
/// (Y, saved_mean, saved_inv_std, new_running_mean, new_running_var).
#[derive(Clone, Debug)]
pub struct BatchNormTrain {
    pub epsilon: f32,
    pub momentum: f32,
}

/// BatchNormGrad(dY, X, scale, mean, inv_std) -> (dX, dscale, dB). With `frozen_stats` the
/// mean and inverse std are constants (eval mode), else the batch's own (training mode).
#[derive(Clone, Debug)]
pub struct BatchNormGrad {
    pub frozen_stats: bool,
}

fn layout(op: &str, s: &[usize], c_len: usize) -> Result<(usize, usize, usize)> {
    if s.len() < 2 || s[1] != c_len {
        bail!("{op}: X {s:?} must be [N, C, ...] with C = {c_len}");
    }
    Ok((s[0], s[1], numel(&s[2..])))
}

impl Op for BatchNormTrain {
    fn op_type(&self) -> &str {
        "BatchNormTrain"
    }
    fn domain(&self) -> &str {
        DOMAIN
    }
    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        infer_like(ctx, &[0, 1, 1, 3, 4])
    }
    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let op = "BatchNormTrain";
        let (x, sx) = f32_in(op, inputs, 0)?;
        let (scale, _) = f32_in(op, inputs, 1)?;
        let (bias, _) = f32_in(op, inputs, 2)?;
        let (rm, _) = f32_in(op, inputs, 3)?;
        let (rv, _) = f32_in(op, inputs, 4)?;
        let (n, c, inner) = layout(op, sx, scale.len())?;
        if [bias.len(), rm.len(), rv.len()].iter().any(|&l| l != c) {
            bail!("{op}: scale, B, mean and var must all have {c} elements");
        }
        let mut y = vec![0f32; x.len()];
        let (mut mean, mut inv) = (vec![0f32; c], vec![0f32; c]);
        let (mut nm, mut nv) = (vec![0f32; c], vec![0f32; c]);
        self.forward(
            (n, c, inner),
            [x, scale, bias, rm, rv],
            [&mut y, &mut mean, &mut inv, &mut nm, &mut nv],
        );
        Ok(vec![
            out(sx, y)?,
            out(&[c], mean)?,
            out(&[c], inv)?,
            out(&[c], nm)?,
            out(&[c], nv)?,
        ])
    }
}

impl Op for BatchNormGrad {
    fn op_type(&self) -> &str {
        "BatchNormGrad"
    }
    fn domain(&self) -> &str {
        DOMAIN
    }
    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        infer_like(ctx, &[1, 2, 2])
    }
    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let op = "BatchNormGrad";
        let (dy, sdy) = f32_in(op, inputs, 0)?;
        let (x, sx) = f32_in(op, inputs, 1)?;
        let (scale, _) = f32_in(op, inputs, 2)?;
        let (mean, _) = f32_in(op, inputs, 3)?;
        let (inv, _) = f32_in(op, inputs, 4)?;
        let (n, c, inner) = layout(op, sx, scale.len())?;
        if sdy != sx || mean.len() != c || inv.len() != c {
            bail!(
                "{op}: dY {sdy:?}, X {sx:?}, mean/inv_std of {} / {} elements do not fit C = {c}",
                mean.len(),
                inv.len()
            );
        }
        let mut dx = vec![0f32; x.len()];
        let mut dscale = vec![0f32; c];
        let mut dbias = vec![0f32; c];
        self.backward(
            (n, c, inner),
            [dy, x, scale, mean, inv],
            [&mut dx, &mut dscale, &mut dbias],
        );
        Ok(vec![out(sx, dx)?, out(&[c], dscale)?, out(&[c], dbias)?])
    }
}

impl BatchNormTrain {
    /// Batch statistics and normalization of `[x, scale, bias, running_mean, running_var]`
    /// (`x` is `[n, c, inner]`) into `[y, mean, inv_std, new_running_mean, new_running_var]`.
    pub fn forward(
        &self,
        (n, c, inner): (usize, usize, usize),
        [x, scale, bias, rm, rv]: [&[f32]; 5],
        [y, mean, inv, nm, nv]: [&mut [f32]; 5],
    ) {
        let count = (n * inner).max(1) as f64;
        for ch in 0..c {
            let (mut s, mut s2) = (0f64, 0f64);
            for i in 0..n {
                let o = (i * c + ch) * inner;
                for &v in &x[o..o + inner] {
                    s += v as f64;
                    s2 += (v as f64) * (v as f64);
                }
            }
            let m = s / count;
            let v = (s2 / count - m * m).max(0.0);
            mean[ch] = m as f32;
            let mo = self.momentum;
            nm[ch] = rm[ch] * mo + mean[ch] * (1.0 - mo);
            nv[ch] = rv[ch] * mo + (v as f32) * (1.0 - mo);
            inv[ch] = (1.0 / (v + self.epsilon as f64).sqrt()) as f32;
        }
        for i in 0..n {
            for ch in 0..c {
                let o = (i * c + ch) * inner;
                let (a, b) = (
                    scale[ch] * inv[ch],
                    bias[ch] - mean[ch] * scale[ch] * inv[ch],
                );
                for (yv, &xv) in y[o..o + inner].iter_mut().zip(&x[o..o + inner]) {
                    *yv = xv * a + b;
                }
            }
        }
    }
}

impl BatchNormGrad {
    /// Gradients of `[dy, x, scale, mean, inv_std]` (`x` is `[n, c, inner]`) into
    /// `[dx, dscale, dbias]`.
    pub fn backward(
        &self,
        (n, c, inner): (usize, usize, usize),
        [dy, x, scale, mean, inv]: [&[f32]; 5],
        [dx, dscale, dbias]: [&mut [f32]; 3],
    ) {
        let count = (n * inner).max(1) as f64;
        for ch in 0..c {
            let (mut sg, mut sgx) = (0f64, 0f64);
            for i in 0..n {
                let o = (i * c + ch) * inner;
                for (&g, &xv) in dy[o..o + inner].iter().zip(&x[o..o + inner]) {
                    sg += g as f64;
                    sgx += g as f64 * ((xv - mean[ch]) * inv[ch]) as f64;
                }
            }
            dbias[ch] = sg as f32;
            dscale[ch] = sgx as f32;
            let k = scale[ch] * inv[ch];
            let (mg, mgx) = if self.frozen_stats {
                (0.0, 0.0)
            } else {
                ((sg / count) as f32, (sgx / count) as f32)
            };
            for i in 0..n {
                let o = (i * c + ch) * inner;
                for ((d, &g), &xv) in dx[o..o + inner]
                    .iter_mut()
                    .zip(&dy[o..o + inner])
                    .zip(&x[o..o + inner])
                {
                    let xh = (xv - mean[ch]) * inv[ch];
                    *d = k * (g - mg - xh * mgx);
                }
            }
        }
    }
}
