//! ReduceToShape: sums a gradient over the axes its forward input was broadcast along.

use super::util::{f32_in, infer_like, numel, out};
use super::DOMAIN;
use edgeopt_ir::{bail, EvalCtx, InferCtx, Inputs, Op, Result, Value, ValueType};

/// `dX = sum of dY over broadcast axes`, reshaped to the shape of input 1 (read for its shape).
#[derive(Clone, Debug)]
pub struct ReduceToShape;

/// Sums `dy` (shape `full`) down to `target` (numpy-broadcastable to `full`).
pub fn reduce_to(dy: &[f32], full: &[usize], target: &[usize]) -> Result<Vec<f32>> {
    if full == target {
        return Ok(dy.to_vec());
    }
    let r = full.len();
    if target.len() > r {
        bail!("ReduceToShape: {target:?} has a higher rank than the gradient {full:?}");
    }
    let padded: Vec<usize> = std::iter::repeat_n(1, r - target.len())
        .chain(target.iter().copied())
        .collect();
    if padded.iter().zip(full).any(|(&t, &f)| t != f && t != 1) {
        bail!("ReduceToShape: {target:?} does not broadcast to {full:?}");
    }
    let mut strides = vec![0usize; r];
    let mut s = 1;
    for d in (0..r).rev() {
        strides[d] = if padded[d] == 1 { 0 } else { s };
        s *= padded[d];
    }
    let mut acc = vec![0f64; numel(target)];
    // Walk the full index space with the innermost axis contiguous.
    let inner = full[r - 1];
    let outer = dy.len().checked_div(inner).unwrap_or(0);
    let mut idx = vec![0usize; r];
    for o in 0..outer {
        let base: usize = (0..r - 1).map(|d| idx[d] * strides[d]).sum();
        let row = &dy[o * inner..(o + 1) * inner];
        if strides[r - 1] == 0 {
            acc[base] += row.iter().map(|&v| v as f64).sum::<f64>();
        } else {
            for (j, &v) in row.iter().enumerate() {
                acc[base + j] += v as f64;
            }
        }
        for d in (0..r - 1).rev() {
            idx[d] += 1;
            if idx[d] < full[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok(acc.into_iter().map(|v| v as f32).collect())
}

impl Op for ReduceToShape {
    fn op_type(&self) -> &str {
        "ReduceToShape"
    }
    fn domain(&self) -> &str {
        DOMAIN
    }
    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        infer_like(ctx, &[1])
    }
    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (dy, full) = f32_in("ReduceToShape", inputs, 0)?;
        let target = inputs.tensor(1)?.shape();
        Ok(vec![out(target, reduce_to(dy, full, target)?)?])
    }
}

/// BiasGrad: sums `dY` `[N, C, ...]` over every axis but 1, giving `[C]` (Conv bias).
#[derive(Clone, Debug)]
pub struct BiasGrad;

impl Op for BiasGrad {
    fn op_type(&self) -> &str {
        "BiasGrad"
    }
    fn domain(&self) -> &str {
        DOMAIN
    }
    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let f32 = edgeopt_tensor::DType::F32;
        Ok(vec![match ctx.tensor(0).shape {
            Some(s) if s.len() >= 2 => ValueType::tensor(f32, vec![s[1].clone()]),
            _ => ValueType::dtype_only(f32),
        }])
    }
    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (dy, s) = f32_in("BiasGrad", inputs, 0)?;
        if s.len() < 2 {
            bail!("BiasGrad: dY {s:?} must be [N, C, ...]");
        }
        let (n, c, inner) = (s[0], s[1], numel(&s[2..]));
        let mut g = vec![0f32; c];
        bias_grad((n, c, inner), dy, &mut g);
        Ok(vec![out(&[c], g)?])
    }
}

/// `g[c] = sum of dy[n, c, ..]` for `dy` laid out `[n, c, inner]`, accumulated in f64.
pub fn bias_grad((n, c, inner): (usize, usize, usize), dy: &[f32], g: &mut [f32]) {
    for (ch, gc) in g.iter_mut().enumerate().take(c) {
        let mut acc = 0f64;
        for i in 0..n {
            let o = (i * c + ch) * inner;
            acc += sum_f32(&dy[o..o + inner]);
        }
        *gc = acc as f32;
    }
}

/// Sum of a row: eight f32 lanes (vectorized), combined in f64.
fn sum_f32(v: &[f32]) -> f64 {
    let mut lanes = [0f32; 8];
    let mut chunks = v.chunks_exact(8);
    for c in &mut chunks {
        for (l, &x) in lanes.iter_mut().zip(c) {
            *l += x;
        }
    }
    let tail: f64 = chunks.remainder().iter().map(|&x| x as f64).sum();
    lanes.iter().map(|&l| l as f64).sum::<f64>() + tail
}
