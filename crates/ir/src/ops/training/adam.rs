//! ai.onnx.preview.training::Adam (version 1): one Adam step for one or more tensors.
//! Spec: <https://onnx.ai/onnx/operators/onnx_aionnxpreviewtraining_Adam.html>
//!
//! Inputs: `R`, `T`, then `X...`, `G...`, `V...` (momenta), `H...` (squared-gradient averages).
//! Outputs: new `X...`, `V...`, `H...`.
//! Attributes: `alpha` (0.9), `beta` (0.999), `epsilon` (1e-6), `norm_coefficient` (0),
//! `norm_coefficient_post` (0).
//! `g = norm_coefficient X + G`, `V' = alpha V + (1 - alpha) g`,
//! `H' = beta H + (1 - beta) g^2`, `r = R sqrt(1 - beta^T) / (1 - alpha^T)` when `T > 0`
//! (else `R`), `X' = (1 - norm_coefficient_post) (X - r V' / (sqrt(H') + epsilon))`.

use super::common::{infer_groups, run_groups, DOMAIN};
use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{Cost, Result, Value, ValueType};

#[derive(Clone, Debug)]
pub struct Adam {
    pub alpha: f32,
    pub beta: f32,
    pub epsilon: f32,
    pub norm_coefficient: f32,
    pub norm_coefficient_post: f32,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(Adam {
        alpha: ctx.attrs.float_or("alpha", 0.9)?,
        beta: ctx.attrs.float_or("beta", 0.999)?,
        epsilon: ctx.attrs.float_or("epsilon", 1e-6)?,
        norm_coefficient: ctx.attrs.float_or("norm_coefficient", 0.0)?,
        norm_coefficient_post: ctx.attrs.float_or("norm_coefficient_post", 0.0)?,
    }))
}

impl Op for Adam {
    fn op_type(&self) -> &str {
        "Adam"
    }

    fn domain(&self) -> &str {
        DOMAIN
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        infer_groups("Adam", ctx, 4)
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (a, b, eps) = (self.alpha as f64, self.beta as f64, self.epsilon as f64);
        let (nc, post) = (
            self.norm_coefficient as f64,
            self.norm_coefficient_post as f64,
        );
        run_groups("Adam", inputs, 4, |r, t, g| {
            let rf = g.round;
            let lr = if t > 0 {
                r * (1.0 - b.powf(t as f64)).sqrt() / (1.0 - a.powf(t as f64))
            } else {
                r
            };
            let (x, gr, v, h) = (&g.vals[0], &g.vals[1], &g.vals[2], &g.vals[3]);
            let n = x.len();
            let (mut xs, mut vs, mut hs) = (
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
            );
            for i in 0..n {
                let greg = rf(rf(nc * x[i]) + gr[i]);
                let vn = rf(rf(a * v[i]) + rf((1.0 - a) * greg));
                let hn = rf(rf(b * h[i]) + rf((1.0 - b) * rf(greg * greg)));
                let step = lr * rf(vn / rf(rf(hn.sqrt()) + eps));
                xs.push((1.0 - post) * (x[i] - step));
                vs.push(vn);
                hs.push(hn);
            }
            vec![xs, vs, hs]
        })
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.elementwise(5)
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .float("alpha", self.alpha)
            .float("beta", self.beta)
            .float("epsilon", self.epsilon)
            .float("norm_coefficient", self.norm_coefficient)
            .float("norm_coefficient_post", self.norm_coefficient_post)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval};
    use edgeopt_tensor::Tensor;

    /// Hand-computed step with T = 1 (bias correction on), alpha 0.5, beta 0.5, epsilon 0:
    /// g = 2, V' = 0.5 * 0 + 0.5 * 2 = 1, H' = 0.5 * 0 + 0.5 * 4 = 2,
    /// r = 0.1 * sqrt(0.5) / 0.5, X' = 1 - r * 1 / sqrt(2) = 0.9.
    #[test]
    fn bias_corrected_step() {
        let op = Adam {
            alpha: 0.5,
            beta: 0.5,
            epsilon: 0.0,
            norm_coefficient: 0.0,
            norm_coefficient_post: 0.0,
        };
        let v = |x: f32| Some(Tensor::vec1(vec![x]));
        let ins = [
            Some(Tensor::scalar(0.1f32)),
            Some(Tensor::scalar(1i64)),
            v(1.0),
            v(2.0),
            v(0.0),
            v(0.0),
        ];
        let out = eval(&op, &ins, 3).unwrap();
        let get = |i: usize| out[i].as_tensor().unwrap().to_vec::<f32>().unwrap();
        assert_close(&get(0), &[0.9], 1e-6, 1e-6);
        assert_eq!((get(1), get(2)), (vec![1.0], vec![2.0]));
    }
}
