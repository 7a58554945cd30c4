//! The calling convention shared by the ai.onnx.preview.training optimizers: inputs are
//! `R` (learning rate, float scalar), `T` (update count, int64 scalar), then `n` tensors of each
//! kind (`X...`, `G...`, then the optimizer's state tensors); outputs are the new `X...` then
//! the new state tensors, kind by kind.

use crate::op::{InferCtx, Inputs};
use crate::ops::transformer::common::{rounder, Round};
use crate::{bail, Result, Value, ValueType};
use edgeopt_tensor::Tensor;

pub const DOMAIN: &str = "ai.onnx.preview.training";

/// Number of optimized tensors when each has `kinds` inputs (X, G and states).
pub fn group_count(op: &str, num_inputs: usize, kinds: usize) -> Result<usize> {
    let rest = num_inputs.saturating_sub(2);
    if rest == 0 || !rest.is_multiple_of(kinds) {
        bail!(
            "{op}: expects R, T and {kinds} tensors per optimized tensor, got {num_inputs} inputs"
        );
    }
    Ok(rest / kinds)
}

/// One optimized tensor's inputs as f64 (`[x, g, states...]`), all the same shape.
pub struct Group<'a> {
    pub vals: Vec<Vec<f64>>,
    pub x: &'a Tensor,
    /// Rounding to X's float type.
    pub round: Round,
}

/// Runs `update(r, t, group)` for every optimized tensor; `update` returns the new X followed
/// by the new states, each as X-shaped values in the type of the input it replaces.
pub fn run_groups(
    op: &str,
    inputs: &Inputs,
    kinds: usize,
    update: impl Fn(f64, i64, &Group) -> Vec<Vec<f64>>,
) -> Result<Vec<Value>> {
    let n = group_count(op, inputs.len(), kinds)?;
    let r = match inputs.tensor(0)?.to_f64_vec()?.as_slice() {
        [r] => *r,
        _ => bail!(
            "{op}: R must be a scalar, got shape {:?}",
            inputs.tensor(0)?.shape()
        ),
    };
    let t = match inputs.tensor(1)?.to_i64_vec()?.as_slice() {
        [t] => *t,
        _ => bail!(
            "{op}: T must be a scalar, got shape {:?}",
            inputs.tensor(1)?.shape()
        ),
    };
    let mut outs: Vec<Vec<Value>> = vec![Vec::with_capacity(n); kinds - 1];
    for g in 0..n {
        let ts: Vec<&Tensor> = (0..kinds)
            .map(|k| inputs.tensor(2 + k * n + g))
            .collect::<Result<_>>()?;
        let x = ts[0];
        if let Some(bad) = ts.iter().find(|t| t.shape() != x.shape()) {
            bail!(
                "{op}: tensor {g} has inputs of shapes {:?} and {:?}; all must match",
                x.shape(),
                bad.shape()
            );
        }
        let round = rounder(op, x.dtype())?;
        let vals = ts
            .iter()
            .map(|t| t.to_f64_vec())
            .collect::<Result<_, _>>()?;
        let new = update(r, t, &Group { vals, x, round });
        // Outputs replace X (kind 0) and the states (kinds 2..): G has no output.
        for (k, v) in new.into_iter().enumerate() {
            let src = ts[if k == 0 { 0 } else { k + 1 }];
            outs[k].push(Tensor::from_f64s(src.dtype(), x.shape().to_vec(), &v)?.into());
        }
    }
    Ok(outs.into_iter().flatten().collect())
}

/// Output types: each output has the type of the input it replaces.
pub fn infer_groups(op: &str, ctx: &InferCtx, kinds: usize) -> Result<Vec<ValueType>> {
    let n = group_count(op, ctx.inputs.len(), kinds)?;
    let mut out = Vec::with_capacity(n * (kinds - 1));
    for k in 0..kinds - 1 {
        let kind = if k == 0 { 0 } else { k + 1 };
        out.extend((0..n).map(|g| ctx.input(2 + kind * n + g).clone()));
    }
    Ok(out)
}
