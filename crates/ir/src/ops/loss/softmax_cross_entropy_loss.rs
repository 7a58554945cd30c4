//! SoftmaxCrossEntropyLoss: negative log-likelihood of `log_softmax(scores, axis=1)`.
//! Spec: <https://onnx.ai/onnx/operators/onnx__SoftmaxCrossEntropyLoss.html>
//!
//! Attributes: `reduction` ("none", "sum", default "mean": weighted mean over the
//! non-ignored elements), `ignore_index` (optional). Inputs: `scores` [N, C, d1..dk] (float
//! types), `labels` [N, d1..dk] (int32/int64), optional `weights` [C]. Outputs: `output` (the
//! loss, [N, d1..dk] or a scalar), optional `log_prob` (the log-softmax, shaped like `scores`).
//! Opsets 12, 13 (types), 22 (bfloat16).

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::loss::common::{check_dtypes, check_shapes, infer_loss, nll, weights, Reduction};
use crate::registry::BuildCtx;
use crate::{AttrList, Attribute, Cost, CostCtx, Result, Value, ValueType};
use edgeopt_tensor::Tensor;

const OP: &str = "SoftmaxCrossEntropyLoss";

#[derive(Clone, Debug)]
pub struct SoftmaxCrossEntropyLoss {
    pub reduction: Reduction,
    pub ignore_index: Option<i64>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let reduction = Reduction::parse(&ctx.attrs.string_or("reduction", "mean")?, OP)?;
    let ignore_index = ctx.attrs.int("ignore_index")?;
    Ok(Box::new(SoftmaxCrossEntropyLoss {
        reduction,
        ignore_index,
    }))
}

/// Log-softmax over axis 1 of `[N, C, D]` data, with the max subtracted for stability.
fn log_softmax(x: &[f64], (n, c, d): (usize, usize, usize)) -> Vec<f64> {
    let mut out = vec![0.0; x.len()];
    for i in 0..n {
        for j in 0..d {
            let at = |k: usize| (i * c + k) * d + j;
            let max = (0..c).map(|k| x[at(k)]).fold(f64::NEG_INFINITY, f64::max);
            let lse = (0..c).map(|k| (x[at(k)] - max).exp()).sum::<f64>().ln() + max;
            for k in 0..c {
                out[at(k)] = x[at(k)] - lse;
            }
        }
    }
    out
}

impl Op for SoftmaxCrossEntropyLoss {
    fn op_type(&self) -> &str {
        OP
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let mut out = vec![infer_loss(ctx, self.reduction)];
        if ctx.num_outputs > 1 {
            out.push(ValueType::Tensor(ctx.tensor(0)));
        }
        Ok(out)
    }

    fn eval(&self, ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (x, target) = (inputs.tensor(0)?, inputs.tensor(1)?);
        check_dtypes(x, target, OP)?;
        let w = inputs.opt_tensor(2)?;
        let dims = check_shapes(x.shape(), target.shape(), w.map(|w| w.shape()), OP)?;
        let w = weights(w, x.dtype(), OP)?;
        let logp = log_softmax(&x.to_f64_vec()?, dims);
        let (v, shape) = nll(
            &logp,
            dims,
            &target.to_i64_vec()?,
            target.shape(),
            w.as_deref(),
            self.ignore_index,
            self.reduction,
            OP,
        )?;
        let mut out = vec![Tensor::from_f64s(x.dtype(), shape, &v)?.into()];
        if ctx.num_outputs > 1 {
            out.push(Tensor::from_f64s(x.dtype(), x.shape().to_vec(), &logp)?.into());
        }
        Ok(out)
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        // exp, sum, log and subtraction per score, then a gather.
        let n = ctx
            .inputs
            .first()
            .and_then(|t| t.concrete_shape())
            .map_or(0, |s| s.iter().product::<usize>());
        Cost {
            flops: 4 * n as u64,
            ..ctx.movement()
        }
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .string("reduction", self.reduction.name())
            .opt_int("ignore_index", self.ignore_index)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval};

    #[test]
    fn mean_loss_and_log_prob() {
        // numpy: scores [[1,2,3],[1,1,1]], labels [2,0]; log_softmax row 0 = [-2.4076,-1.4076,
        // -0.4076], row 1 = -ln 3; mean loss = (0.40761 + 1.09861) / 2.
        let x = Tensor::from_vec(vec![2, 3], vec![1f32, 2., 3., 1., 1., 1.]).unwrap();
        let t = Tensor::vec1(vec![2i64, 0]);
        let op = SoftmaxCrossEntropyLoss {
            reduction: Reduction::Mean,
            ignore_index: None,
        };
        let out = eval(&op, &[Some(x), Some(t)], 2).unwrap();
        let loss = out[0].as_tensor().unwrap();
        assert!(loss.shape().is_empty());
        assert_close(&loss.to_vec::<f32>().unwrap(), &[0.753_11], 1e-6, 1e-6);
        let lp = out[1].as_tensor().unwrap().to_vec::<f32>().unwrap();
        assert_close(&lp[..3], &[-2.407_606, -1.407_606, -0.407_606], 1e-6, 1e-6);
    }

    #[test]
    fn ignored_labels_may_be_negative() {
        let x = Tensor::from_vec(vec![2, 2], vec![0f32, 0., 0., 0.]).unwrap();
        let t = Tensor::vec1(vec![-1i32, 1]);
        let op = SoftmaxCrossEntropyLoss {
            reduction: Reduction::None,
            ignore_index: Some(-1),
        };
        let out = eval(&op, &[Some(x), Some(t)], 1).unwrap();
        assert_close(
            &out[0].as_tensor().unwrap().to_vec::<f32>().unwrap(),
            &[0.0, std::f32::consts::LN_2],
            1e-6,
            0.0,
        );
    }
}
