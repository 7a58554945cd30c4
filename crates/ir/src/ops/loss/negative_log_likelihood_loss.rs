//! NegativeLogLikelihoodLoss: `loss[n, d..] = -input[n, target[n, d..], d..] * weight[target]`.
//! Spec: <https://onnx.ai/onnx/operators/onnx__NegativeLogLikelihoodLoss.html>
//!
//! Attributes: `reduction` ("none", "sum", default "mean": the weighted mean, dividing by the
//! total weight of the non-ignored elements), `ignore_index` (optional: targets equal to it
//! contribute nothing). Inputs: `input` [N, C, d1..dk] (float types), `target` [N, d1..dk]
//! (int32/int64), optional `weight` [C]. Output: `loss`, [N, d1..dk] without reduction, a scalar
//! otherwise. Opsets 12, 13 (types), 22 (bfloat16).

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::loss::common::{check_dtypes, check_shapes, infer_loss, nll, weights, Reduction};
use crate::registry::BuildCtx;
use crate::{AttrList, Attribute, Result, Value, ValueType};
use edgeopt_tensor::Tensor;

const OP: &str = "NegativeLogLikelihoodLoss";

#[derive(Clone, Debug)]
pub struct NegativeLogLikelihoodLoss {
    pub reduction: Reduction,
    pub ignore_index: Option<i64>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let reduction = Reduction::parse(&ctx.attrs.string_or("reduction", "mean")?, OP)?;
    let ignore_index = ctx.attrs.int("ignore_index")?;
    Ok(Box::new(NegativeLogLikelihoodLoss {
        reduction,
        ignore_index,
    }))
}

impl Op for NegativeLogLikelihoodLoss {
    fn op_type(&self) -> &str {
        OP
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![infer_loss(ctx, self.reduction)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (x, target) = (inputs.tensor(0)?, inputs.tensor(1)?);
        check_dtypes(x, target, OP)?;
        let w = inputs.opt_tensor(2)?;
        let dims = check_shapes(x.shape(), target.shape(), w.map(|w| w.shape()), OP)?;
        let w = weights(w, x.dtype(), OP)?;
        let (v, shape) = nll(
            &x.to_f64_vec()?,
            dims,
            &target.to_i64_vec()?,
            target.shape(),
            w.as_deref(),
            self.ignore_index,
            self.reduction,
            OP,
        )?;
        Ok(vec![Tensor::from_f64s(x.dtype(), shape, &v)?.into()])
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
    use crate::ops::testing::eval1;

    fn x() -> Tensor {
        // N=2, C=3, d1=2.
        Tensor::from_vec(
            vec![2, 3, 2],
            (0..12).map(|v| v as f32 * 0.5 - 3.0).collect(),
        )
        .unwrap()
    }

    #[test]
    fn reductions_match_numpy_reference() {
        // Expected values computed with onnx.reference (op_negative_log_likelihood_loss.py).
        let t = Tensor::from_vec(vec![2, 2], vec![0i64, 2, 1, 0]).unwrap();
        let none = NegativeLogLikelihoodLoss {
            reduction: Reduction::None,
            ignore_index: None,
        };
        let y = eval1(&none, &[Some(x()), Some(t.clone())]).unwrap();
        assert_eq!(y.to_vec::<f32>().unwrap(), vec![3.0, 0.5, -1.0, -0.5]);
        let w = Tensor::vec1(vec![0.2f32, 0.3, 0.5]);
        let mean = NegativeLogLikelihoodLoss {
            reduction: Reduction::Mean,
            ignore_index: Some(2),
        };
        let y = eval1(&mean, &[Some(x()), Some(t), Some(w)]).unwrap();
        assert!((y.to_vec::<f32>().unwrap()[0] - 0.28571433).abs() < 1e-6);
    }

    #[test]
    fn rejects_bad_shapes_and_targets() {
        let op = NegativeLogLikelihoodLoss {
            reduction: Reduction::Sum,
            ignore_index: None,
        };
        let bad = Tensor::from_vec(vec![2, 3], vec![0i64; 6]).unwrap();
        assert!(eval1(&op, &[Some(x()), Some(bad)]).is_err());
        let t = Tensor::from_vec(vec![2, 2], vec![0i64, 3, 1, 0]).unwrap();
        assert!(eval1(&op, &[Some(x()), Some(t)]).is_err());
    }
}
