//! The negative log-likelihood computation shared by NegativeLogLikelihoodLoss and
//! SoftmaxCrossEntropyLoss, on f64 log-probabilities laid out as `[N, C, D]`.

use crate::op::InferCtx;
use crate::{bail, Result, TensorType, ValueType};
use edgeopt_tensor::{DType, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    None,
    Sum,
    Mean,
}

impl Reduction {
    pub fn parse(s: &str, op: &str) -> Result<Reduction> {
        Ok(match s {
            "none" => Reduction::None,
            "sum" => Reduction::Sum,
            "mean" => Reduction::Mean,
            other => bail!("{op}: reduction must be none, sum or mean, got '{other}'"),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Reduction::None => "none",
            Reduction::Sum => "sum",
            Reduction::Mean => "mean",
        }
    }
}

/// Checks the input (`[N, C, d1..dk]`), target (`[N, d1..dk]`) and weight (`[C]`) shapes.
/// Returns (N, C, D = d1 * .. * dk).
pub fn check_shapes(
    x: &[usize],
    target: &[usize],
    weight: Option<&[usize]>,
    op: &str,
) -> Result<(usize, usize, usize)> {
    if x.len() < 2 || target.len() + 1 != x.len() || target[0] != x[0] || target[1..] != x[2..] {
        bail!("{op}: input shape {x:?} needs rank >= 2 and target shape [N, d1..dk] to match it, got {target:?}");
    }
    if let Some(w) = weight {
        if w != [x[1]] {
            bail!("{op}: weight shape {w:?} should be [{}]", x[1]);
        }
    }
    Ok((x[0], x[1], x[2..].iter().product()))
}

/// The loss from log-probabilities `logp` ([N, C, D] row-major), targets ([N, D]), optional
/// class weights and ignored class, reduced as asked. Returns the values and their shape.
#[allow(clippy::too_many_arguments)]
pub fn nll(
    logp: &[f64],
    (n, c, d): (usize, usize, usize),
    target: &[i64],
    target_shape: &[usize],
    weight: Option<&[f64]>,
    ignore_index: Option<i64>,
    reduction: Reduction,
    op: &str,
) -> Result<(Vec<f64>, Vec<usize>)> {
    let mut loss = Vec::with_capacity(n * d);
    let mut wsum = 0.0;
    for i in 0..n {
        for j in 0..d {
            let t = target[i * d + j];
            if Some(t) == ignore_index {
                loss.push(0.0);
                continue;
            }
            if t < 0 || t as usize >= c {
                bail!("{op}: target {t} is out of range for {c} classes");
            }
            let w = weight.map_or(1.0, |w| w[t as usize]);
            wsum += w;
            loss.push(-logp[(i * c + t as usize) * d + j] * w);
        }
    }
    Ok(match reduction {
        Reduction::None => (loss, target_shape.to_vec()),
        Reduction::Sum => (vec![loss.iter().sum()], vec![]),
        // Weighted mean: divides by the total weight of the counted (non-ignored) elements.
        Reduction::Mean => (vec![loss.iter().sum::<f64>() / wsum], vec![]),
    })
}

/// Class weights as f64, when given.
pub fn weights(w: Option<&Tensor>, dtype: DType, op: &str) -> Result<Option<Vec<f64>>> {
    match w {
        None => Ok(None),
        Some(w) if w.dtype() == dtype => Ok(Some(w.to_f64_vec()?)),
        Some(w) => bail!("{op}: weight is {} but the input is {dtype}", w.dtype()),
    }
}

/// Checks the input is a float tensor and the target an int32/int64 tensor.
pub fn check_dtypes(x: &Tensor, target: &Tensor, op: &str) -> Result<()> {
    if !matches!(
        x.dtype(),
        DType::F32 | DType::F64 | DType::F16 | DType::BF16
    ) {
        bail!("{op}: input must be a float tensor, got {}", x.dtype());
    }
    if !matches!(target.dtype(), DType::I32 | DType::I64) {
        bail!(
            "{op}: target must be int32 or int64, got {}",
            target.dtype()
        );
    }
    Ok(())
}

/// Type of the loss output: the target's shape without reduction, a scalar otherwise.
pub fn infer_loss(ctx: &InferCtx, reduction: Reduction) -> ValueType {
    let dtype = ctx.tensor(0).dtype;
    let shape = match reduction {
        Reduction::None => ctx.tensor(1).shape,
        _ => Some(vec![]),
    };
    ValueType::Tensor(TensorType { dtype, shape })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_mean_skips_ignored() {
        // N=2, C=2, D=1: logp rows [-1,-2], [-3,-4]; targets [1, 0], weights [1, 3].
        let logp = [-1.0, -2.0, -3.0, -4.0];
        let w = [1.0, 3.0];
        let (v, s) = nll(
            &logp,
            (2, 2, 1),
            &[1, 0],
            &[2],
            Some(&w),
            None,
            Reduction::Mean,
            "t",
        )
        .unwrap();
        assert_eq!((v, s), (vec![(2.0 * 3.0 + 3.0) / 4.0], vec![]));
        let (v, _) = nll(
            &logp,
            (2, 2, 1),
            &[1, 0],
            &[2],
            None,
            Some(0),
            Reduction::Mean,
            "t",
        )
        .unwrap();
        assert_eq!(v, vec![2.0]);
        assert!(nll(
            &logp,
            (2, 2, 1),
            &[2, 0],
            &[2],
            None,
            None,
            Reduction::Sum,
            "t"
        )
        .is_err());
    }
}
