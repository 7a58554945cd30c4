//! Fused losses: each returns the (mean) loss and its gradient with respect to the prediction,
//! so backpropagation starts from that gradient (the seed `dL/dL = 1` is folded in).

use super::util::{f32_in, infer_like, out, scalar_type};
use super::DOMAIN;
use edgeopt_ir::{bail, EvalCtx, InferCtx, Inputs, Op, Result, Value, ValueType};
use edgeopt_tensor::Tensor;

/// Row-wise softmax of `z / t` into `p` (f64 for a stable log-sum-exp); returns `log(sum exp)`.
fn softmax_row(z: &[f32], t: f64, p: &mut [f64]) -> f64 {
    let m = z
        .iter()
        .fold(f64::NEG_INFINITY, |a, &v| a.max(v as f64 / t));
    let mut s = 0.0;
    for (pi, &v) in p.iter_mut().zip(z) {
        *pi = (v as f64 / t - m).exp();
        s += *pi;
    }
    for pi in p.iter_mut() {
        *pi /= s;
    }
    m + s.ln()
}

fn labels(op: &str, t: &Tensor, n: usize, c: usize) -> Result<Vec<usize>> {
    let l = t.to_i64_vec()?;
    if l.len() != n {
        bail!("{op}: {} labels for a batch of {n}", l.len());
    }
    l.iter()
        .map(|&v| {
            if v < 0 || v as usize >= c {
                bail!("{op}: label {v} is outside [0, {c})");
            }
            Ok(v as usize)
        })
        .collect()
}

fn logits_shape(op: &str, s: &[usize]) -> Result<(usize, usize)> {
    if s.len() != 2 || s[1] == 0 {
        bail!("{op}: logits must be [N, C] with C > 0, got {s:?}");
    }
    Ok((s[0], s[1]))
}

/// Mean softmax cross-entropy of `logits` `[N, C]` against `labels` `[N]` (evaluation).
pub fn cross_entropy(logits: &Tensor, labels: &Tensor) -> Result<f64> {
    let (n, c) = logits_shape("cross_entropy", logits.shape())?;
    let lab = self::labels("cross_entropy", labels, n, c)?;
    let z = logits.as_slice::<f32>()?;
    let mut p = vec![0f64; c];
    let mut loss = 0.0;
    for (i, &l) in lab.iter().enumerate() {
        let row = &z[i * c..(i + 1) * c];
        loss += softmax_row(row, 1.0, &mut p) - row[l] as f64;
    }
    Ok(loss / n.max(1) as f64)
}

/// SoftmaxCrossEntropy(logits [N, C], labels [N]) -> (mean loss, dlogits).
#[derive(Clone, Debug)]
pub struct SoftmaxCrossEntropy;

impl Op for SoftmaxCrossEntropy {
    fn op_type(&self) -> &str {
        "SoftmaxCrossEntropy"
    }
    fn domain(&self) -> &str {
        DOMAIN
    }
    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![scalar_type(), infer_like(ctx, &[0])?.remove(0)])
    }
    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let op = "SoftmaxCrossEntropy";
        let (z, s) = f32_in(op, inputs, 0)?;
        let (n, c) = logits_shape(op, s)?;
        let lab = labels(op, inputs.tensor(1)?, n, c)?;
        let mut p = vec![0f64; c];
        let mut grad = vec![0f32; z.len()];
        let mut loss = 0f64;
        for i in 0..n {
            let row = &z[i * c..(i + 1) * c];
            let lse = softmax_row(row, 1.0, &mut p);
            loss += lse - row[lab[i]] as f64;
            for j in 0..c {
                let y = (j == lab[i]) as u8 as f64;
                grad[i * c + j] = ((p[j] - y) / n as f64) as f32;
            }
        }
        Ok(vec![
            out(&[], vec![(loss / n.max(1) as f64) as f32])?,
            out(s, grad)?,
        ])
    }
}

/// DistillationLoss(student [N, C], teacher [N, C], labels [N]) -> (loss, dstudent) with
/// `L = (1 - lambda) * CE(student, labels) + lambda * T^2 * KL(softmax(teacher/T) || softmax(student/T))`,
/// both terms averaged over the batch.
#[derive(Clone, Debug)]
pub struct DistillationLoss {
    pub lambda: f32,
    pub temperature: f32,
}

impl Op for DistillationLoss {
    fn op_type(&self) -> &str {
        "DistillationLoss"
    }
    fn domain(&self) -> &str {
        DOMAIN
    }
    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![scalar_type(), infer_like(ctx, &[0])?.remove(0)])
    }
    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let op = "DistillationLoss";
        let (zs, s) = f32_in(op, inputs, 0)?;
        let (zt, st) = f32_in(op, inputs, 1)?;
        let (n, c) = logits_shape(op, s)?;
        if st != s {
            bail!("{op}: teacher logits {st:?} and student logits {s:?} differ");
        }
        if self.temperature <= 0.0 || !(0.0..=1.0).contains(&self.lambda) {
            bail!(
                "{op}: need temperature > 0 and lambda in [0, 1], got T={} lambda={}",
                self.temperature,
                self.lambda
            );
        }
        let lab = labels(op, inputs.tensor(2)?, n, c)?;
        let (lam, t) = (self.lambda as f64, self.temperature as f64);
        let (mut p, mut ps, mut pt) = (vec![0f64; c], vec![0f64; c], vec![0f64; c]);
        let mut grad = vec![0f32; zs.len()];
        let mut loss = 0f64;
        for i in 0..n {
            let (rs, rt) = (&zs[i * c..(i + 1) * c], &zt[i * c..(i + 1) * c]);
            let lse = softmax_row(rs, 1.0, &mut p);
            let lse_s = softmax_row(rs, t, &mut ps);
            let lse_t = softmax_row(rt, t, &mut pt);
            let ce = lse - rs[lab[i]] as f64;
            // KL(pt || ps) = sum pt * (log pt - log ps).
            let kl: f64 = (0..c)
                .filter(|&j| pt[j] > 0.0)
                .map(|j| pt[j] * ((rt[j] as f64 / t - lse_t) - (rs[j] as f64 / t - lse_s)))
                .sum();
            loss += (1.0 - lam) * ce + lam * t * t * kl;
            for j in 0..c {
                let y = (j == lab[i]) as u8 as f64;
                let g = (1.0 - lam) * (p[j] - y) + lam * t * (ps[j] - pt[j]);
                grad[i * c + j] = (g / n as f64) as f32;
            }
        }
        Ok(vec![
            out(&[], vec![(loss / n.max(1) as f64) as f32])?,
            out(s, grad)?,
        ])
    }
}

/// MseLoss(prediction, target) -> (mean squared error, dprediction).
#[derive(Clone, Debug)]
pub struct MseLoss;

impl Op for MseLoss {
    fn op_type(&self) -> &str {
        "MseLoss"
    }
    fn domain(&self) -> &str {
        DOMAIN
    }
    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![scalar_type(), infer_like(ctx, &[0])?.remove(0)])
    }
    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (p, sp) = f32_in("MseLoss", inputs, 0)?;
        let (t, st) = f32_in("MseLoss", inputs, 1)?;
        if sp != st {
            bail!("MseLoss: prediction {sp:?} and target {st:?} differ");
        }
        let k = p.len().max(1) as f64;
        let loss: f64 = p
            .iter()
            .zip(t)
            .map(|(&a, &b)| ((a - b) as f64).powi(2))
            .sum::<f64>()
            / k;
        let grad = p
            .iter()
            .zip(t)
            .map(|(&a, &b)| (2.0 * (a - b) as f64 / k) as f32)
            .collect();
        Ok(vec![out(&[], vec![loss as f32])?, out(sp, grad)?])
    }
}
