//! ai.onnx.preview.training::Adagrad (version 1): one ADAGRAD step for one or more tensors.
//! Spec: <https://onnx.ai/onnx/operators/onnx_aionnxpreviewtraining_Adagrad.html>
//!
//! Inputs: `R`, `T`, then `X...`, `G...`, `H...` (accumulated squared gradients).
//! Outputs: new `X...`, new `H...`.
//! Attributes: `decay_factor` (0), `epsilon` (1e-6), `norm_coefficient` (0).
//! `r = R / (1 + T decay_factor)`, `g = norm_coefficient X + G`, `H' = H + g^2`,
//! `X' = X - r g / (sqrt(H') + epsilon)`.

use super::common::{infer_groups, run_groups, DOMAIN};
use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{Cost, Result, Value, ValueType};

#[derive(Clone, Debug)]
pub struct Adagrad {
    pub decay_factor: f32,
    pub epsilon: f32,
    pub norm_coefficient: f32,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(Adagrad {
        decay_factor: ctx.attrs.float_or("decay_factor", 0.0)?,
        epsilon: ctx.attrs.float_or("epsilon", 1e-6)?,
        norm_coefficient: ctx.attrs.float_or("norm_coefficient", 0.0)?,
    }))
}

impl Op for Adagrad {
    fn op_type(&self) -> &str {
        "Adagrad"
    }

    fn domain(&self) -> &str {
        DOMAIN
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        infer_groups("Adagrad", ctx, 3)
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (nc, eps) = (self.norm_coefficient as f64, self.epsilon as f64);
        run_groups("Adagrad", inputs, 3, |r, t, g| {
            let rf = g.round;
            let lr = r / (1.0 + t as f64 * self.decay_factor as f64);
            let (x, gr, h) = (&g.vals[0], &g.vals[1], &g.vals[2]);
            let mut xs = Vec::with_capacity(x.len());
            let mut hs = Vec::with_capacity(x.len());
            for i in 0..x.len() {
                let greg = rf(rf(nc * x[i]) + gr[i]);
                let hn = rf(h[i] + rf(greg * greg));
                xs.push(x[i] - lr * greg / rf(rf(hn.sqrt()) + eps));
                hs.push(hn);
            }
            vec![xs, hs]
        })
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.elementwise(5)
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .float("decay_factor", self.decay_factor)
            .float("epsilon", self.epsilon)
            .float("norm_coefficient", self.norm_coefficient)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval};
    use edgeopt_tensor::Tensor;

    /// The ONNX backend case `test_adagrad` (values from its numpy expectation):
    /// R 0.1, T 0, X 1.0, G -1.0, H 2.0, norm 0.001, epsilon 1e-5, decay 0.1.
    #[test]
    fn backend_case() {
        let op = Adagrad {
            decay_factor: 0.1,
            epsilon: 1e-5,
            norm_coefficient: 0.001,
        };
        let v = |x: f32| Some(Tensor::vec1(vec![x]));
        let ins = [
            Some(Tensor::scalar(0.1f32)),
            Some(Tensor::scalar(0i64)),
            v(1.0),
            v(-1.0),
            v(2.0),
        ];
        let out = eval(&op, &ins, 2).unwrap();
        // g = -0.999, H' = 2.998001, X' = 1 + 0.1 * 0.999 / (sqrt(H') + 1e-5) = 1.0576962.
        assert_close(
            &out[0].as_tensor().unwrap().to_vec::<f32>().unwrap(),
            &[1.0576962],
            1e-6,
            1e-6,
        );
        assert_close(
            &out[1].as_tensor().unwrap().to_vec::<f32>().unwrap(),
            &[2.998001],
            1e-6,
            1e-6,
        );
    }

    #[test]
    fn wrong_input_count_is_an_error() {
        let op = Adagrad {
            decay_factor: 0.0,
            epsilon: 1e-6,
            norm_coefficient: 0.0,
        };
        let v = Some(Tensor::vec1(vec![1f32]));
        assert!(eval(
            &op,
            &[
                Some(Tensor::scalar(0.1f32)),
                Some(Tensor::scalar(0i64)),
                v.clone(),
                v
            ],
            2
        )
        .is_err());
    }
}
