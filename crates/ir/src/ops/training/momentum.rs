//! ai.onnx.preview.training::Momentum (version 1): one SGD-with-momentum step (standard or
//! Nesterov) for one or more tensors.
//! Spec: <https://onnx.ai/onnx/operators/onnx_aionnxpreviewtraining_Momentum.html>
//!
//! Inputs: `R`, `T`, then `X...`, `G...`, `V...` (momenta). Outputs: new `X...`, new `V...`.
//! Attributes (all required): `alpha`, `beta`, `mode` (`standard` or `nesterov`),
//! `norm_coefficient`.
//! `g = norm_coefficient X + G`, `V' = alpha V + b g` with `b = beta` when `T > 0` (else 1);
//! standard: `X' = X - R V'`; nesterov: `X' = X - R (g + alpha V')`.

use super::common::{infer_groups, run_groups, DOMAIN};
use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Cost, IrError, Result, Value, ValueType};

#[derive(Clone, Debug)]
pub struct Momentum {
    pub alpha: f32,
    pub beta: f32,
    pub nesterov: bool,
    pub norm_coefficient: f32,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let mut req = |name: &str| {
        ctx.attrs
            .float(name)?
            .ok_or_else(|| IrError::Op(format!("Momentum: required attribute '{name}' is missing")))
    };
    let (alpha, beta, norm_coefficient) = (req("alpha")?, req("beta")?, req("norm_coefficient")?);
    let nesterov = match ctx.attrs.string("mode")?.as_deref() {
        Some("standard") => false,
        Some("nesterov") => true,
        other => bail!("Momentum: mode must be 'standard' or 'nesterov', got {other:?}"),
    };
    Ok(Box::new(Momentum {
        alpha,
        beta,
        nesterov,
        norm_coefficient,
    }))
}

impl Op for Momentum {
    fn op_type(&self) -> &str {
        "Momentum"
    }

    fn domain(&self) -> &str {
        DOMAIN
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        infer_groups("Momentum", ctx, 3)
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (a, nc) = (self.alpha as f64, self.norm_coefficient as f64);
        run_groups("Momentum", inputs, 3, |r, t, g| {
            let rf = g.round;
            let (r, b) = (rf(r), if t > 0 { self.beta as f64 } else { 1.0 });
            let (x, gr, v) = (&g.vals[0], &g.vals[1], &g.vals[2]);
            let (mut xs, mut vs) = (Vec::with_capacity(x.len()), Vec::with_capacity(x.len()));
            for i in 0..x.len() {
                let greg = rf(rf(nc * x[i]) + gr[i]);
                let vn = rf(rf(a * v[i]) + rf(b * greg));
                let dir = if self.nesterov {
                    rf(greg + rf(a * vn))
                } else {
                    vn
                };
                xs.push(rf(x[i] - rf(r * dir)));
                vs.push(vn);
            }
            vec![xs, vs]
        })
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.elementwise(3)
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .float("alpha", self.alpha)
            .float("beta", self.beta)
            .string(
                "mode",
                if self.nesterov {
                    "nesterov"
                } else {
                    "standard"
                },
            )
            .float("norm_coefficient", self.norm_coefficient)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval;
    use edgeopt_tensor::Tensor;

    /// T = 0 uses b = 1: V' = 0.5 * 2 + 1 = 2; standard X' = 1 - 0.5 * 2 = 0,
    /// nesterov X' = 1 - 0.5 * (1 + 0.5 * 2) = 0 (hand-checked).
    #[test]
    fn standard_and_nesterov_first_step() {
        let v = |x: f32| Some(Tensor::vec1(vec![x, x]));
        let ins = [
            Some(Tensor::scalar(0.5f32)),
            Some(Tensor::scalar(0i64)),
            v(1.0),
            v(1.0),
            v(2.0),
        ];
        for nesterov in [false, true] {
            let op = Momentum {
                alpha: 0.5,
                beta: 0.1,
                nesterov,
                norm_coefficient: 0.0,
            };
            let out = eval(&op, &ins, 2).unwrap();
            assert_eq!(
                out[0].as_tensor().unwrap().to_vec::<f32>().unwrap(),
                vec![0.0, 0.0]
            );
            assert_eq!(
                out[1].as_tensor().unwrap().to_vec::<f32>().unwrap(),
                vec![2.0, 2.0]
            );
        }
    }

    #[test]
    fn mismatched_shapes_are_errors() {
        let op = Momentum {
            alpha: 0.5,
            beta: 0.1,
            nesterov: false,
            norm_coefficient: 0.0,
        };
        let ins = [
            Some(Tensor::scalar(0.5f32)),
            Some(Tensor::scalar(0i64)),
            Some(Tensor::vec1(vec![1f32])),
            Some(Tensor::vec1(vec![1f32, 2.0])),
            Some(Tensor::vec1(vec![1f32])),
        ];
        assert!(eval(&op, &ins, 2).is_err());
    }
}
