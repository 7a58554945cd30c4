//! Helpers for the ai.onnx.ml tree ops: attribute readers that keep what they read for
//! export, index checks, and the score post-transforms.

use crate::ops::math::unary::erf;
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result};

/// Takes an attribute, remembering it for export.
pub fn take(
    ctx: &mut BuildCtx,
    keep: &mut Vec<(String, Attribute)>,
    name: &str,
) -> Option<Attribute> {
    let a = ctx.attrs.take(name)?;
    keep.push((name.to_string(), a.clone()));
    Some(a)
}

pub fn ints(
    ctx: &mut BuildCtx,
    keep: &mut Vec<(String, Attribute)>,
    name: &str,
) -> Result<Option<Vec<i64>>> {
    match take(ctx, keep, name) {
        None => Ok(None),
        Some(Attribute::Ints(v)) => Ok(Some(v)),
        Some(Attribute::Int(v)) => Ok(Some(vec![v])),
        Some(a) => bail!(
            "TreeEnsemble: attribute {name} should be ints, found {}",
            a.kind()
        ),
    }
}

pub fn floats(
    ctx: &mut BuildCtx,
    keep: &mut Vec<(String, Attribute)>,
    name: &str,
) -> Result<Option<Vec<f64>>> {
    match take(ctx, keep, name) {
        None => Ok(None),
        Some(Attribute::Tensor(t)) => Ok(Some(t.to_f64_vec()?)),
        Some(Attribute::Floats(v)) => Ok(Some(v.into_iter().map(f64::from).collect())),
        Some(a) => bail!(
            "TreeEnsemble: attribute {name} should be a tensor, found {}",
            a.kind()
        ),
    }
}

/// An index attribute entry checked against `len`.
pub fn index(v: i64, len: usize, what: &str) -> Result<usize> {
    if v < 0 || v as usize >= len {
        bail!("TreeEnsemble: {what} {v} is out of range (0..{len})");
    }
    Ok(v as usize)
}

/// Softmax in place; `skip_zero` leaves zeros out (they stay zero), as SOFTMAX_ZERO asks.
pub fn softmax(v: &mut [f64], skip_zero: bool) {
    let keep = |x: f64| !skip_zero || x != 0.0;
    let max = v
        .iter()
        .copied()
        .filter(|&x| keep(x))
        .fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = v
        .iter()
        .filter(|&&x| keep(x))
        .map(|&x| (x - max).exp())
        .sum();
    for x in v.iter_mut() {
        *x = if keep(*x) {
            (*x - max).exp() / sum
        } else {
            0.0
        };
    }
}

/// Inverse error function by Newton's method on `erf` (to f64 precision in a few steps).
pub fn erf_inv(y: f64) -> f64 {
    if y <= -1.0 {
        return f64::NEG_INFINITY;
    }
    if y >= 1.0 {
        return f64::INFINITY;
    }
    let mut x = 0.0;
    for _ in 0..100 {
        let step = (erf(x) - y) / (std::f64::consts::FRAC_2_SQRT_PI * (-x * x).exp());
        x -= step;
        if step.abs() < 1e-15 * x.abs().max(1e-300) {
            break;
        }
    }
    x
}
