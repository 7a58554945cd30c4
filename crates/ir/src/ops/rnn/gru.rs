//! GRU: gated recurrent unit with gates z (update), r (reset), h (hidden), in that order in W,
//! R and B.
//! Spec: <https://onnx.ai/onnx/operators/onnx__GRU.html>
//!
//! `z = f(X Wz + H Rz + Wbz + Rbz)`, `r = f(X Wr + H Rr + Wbr + Rbr)`,
//! `h = g(X Wh + (r * H) Rh + Rbh + Wbh)`, or with `linear_before_reset`
//! `h = g(X Wh + r * (H Rh + Rbh) + Wbh)`; `H' = (1 - z) * h + z * H`.
//! Attributes: those of RNN (activations default [Sigmoid, Tanh] per direction) plus
//! `linear_before_reset` (3+, default 0). Inputs: `X`, `W`, `R`, optional `B`,
//! `sequence_lens`, `initial_h`. Outputs (optional): `Y`, `Y_h`.

use super::activation::Act;
use super::common::{export, rnn_cost, RnnAttrs};
use super::driver::{dir_weights, matvec};
use crate::attr::{AttrList, Attribute};
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{Result, Value, ValueType};

#[derive(Clone, Debug)]
pub struct Gru {
    pub attrs: RnnAttrs,
    pub linear_before_reset: Option<i64>,
    acts: Vec<Vec<Act>>,
}

impl Gru {
    pub fn new(attrs: RnnAttrs, linear_before_reset: Option<i64>) -> Result<Gru> {
        let acts = attrs.acts("GRU", &["Sigmoid", "Tanh"])?;
        Ok(Gru {
            attrs,
            linear_before_reset,
            acts,
        })
    }
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let attrs = RnnAttrs::parse(ctx, "GRU")?;
    let lbr = ctx.attrs.int("linear_before_reset")?;
    Ok(Box::new(Gru::new(attrs, lbr)?))
}

impl Op for Gru {
    fn op_type(&self) -> &str {
        "GRU"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        self.attrs.infer("GRU", ctx, 3, 2)
    }

    fn eval(&self, ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let a = &self.attrs;
        let io = a.inputs("GRU", inputs, 3)?;
        let n = io.hidden;
        let lbr = self.linear_before_reset.unwrap_or(0) != 0;
        let c0 = vec![0.0; io.h0.len()];
        a.run(&io, &c0, ctx.num_outputs.min(2), |d, x, h, c| {
            let (w, r, wb, rb) = dir_weights(&io, 3, d);
            let (f, g) = (self.acts[d][0], self.acts[d][1]);
            let gx = matvec(w, x, wb);
            // z and r use H directly; h's recurrent term depends on the reset gate.
            let gh = matvec(&r[..2 * n * n], h, &rb[..2 * n]);
            let z: Vec<f64> = (0..n).map(|i| f.apply(a.clip(gx[i] + gh[i]))).collect();
            let rg: Vec<f64> = (0..n)
                .map(|i| f.apply(a.clip(gx[n + i] + gh[n + i])))
                .collect();
            let rh = &r[2 * n * n..];
            let hh: Vec<f64> = if lbr {
                let lin = matvec(rh, h, &rb[2 * n..]);
                (0..n)
                    .map(|i| g.apply(a.clip(gx[2 * n + i] + rg[i] * lin[i])))
                    .collect()
            } else {
                let reset: Vec<f64> = (0..n).map(|i| rg[i] * h[i]).collect();
                let lin = matvec(rh, &reset, &rb[2 * n..]);
                (0..n)
                    .map(|i| g.apply(a.clip(gx[2 * n + i] + lin[i])))
                    .collect()
            };
            let h_new = (0..n).map(|i| (1.0 - z[i]) * hh[i] + z[i] * h[i]).collect();
            (h_new, c.to_vec())
        })
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        rnn_cost(ctx, 3, self.attrs.num_dirs())
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        export(
            &self.attrs,
            AttrList::default().opt_int("linear_before_reset", self.linear_before_reset),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval};
    use edgeopt_tensor::Tensor;

    fn sigmoid(x: f32) -> f32 {
        1.0 / (1.0 + (-x).exp())
    }

    #[test]
    fn one_step_matches_formula() {
        // hidden 1, input 1, all weights w = 0.5, x = 2, initial_h = 1, zero bias.
        // z = r = s(0.5*2 + 0.5*1) = s(1.5); default h = tanh(1 + 0.5 * r * 1);
        // linear_before_reset h = tanh(1 + r * 0.5) (same here since Rbh = 0).
        let x = Tensor::from_vec(vec![1, 1, 1], vec![2f32]).unwrap();
        let w = Tensor::from_vec(vec![1, 3, 1], vec![0.5f32; 3]).unwrap();
        let r = Tensor::from_vec(vec![1, 3, 1], vec![0.5f32; 3]).unwrap();
        let h0 = Tensor::from_vec(vec![1, 1, 1], vec![1f32]).unwrap();
        let ins = [Some(x), Some(w), Some(r), None, None, Some(h0)];
        let zr = sigmoid(1.5);
        let hh = (1.0 + 0.5 * zr).tanh();
        let want = (1.0 - zr) * hh + zr;
        for lbr in [None, Some(1)] {
            let op = Gru::new(
                RnnAttrs {
                    hidden_size: Some(1),
                    ..Default::default()
                },
                lbr,
            )
            .unwrap();
            let out = eval(&op, &ins, 2).unwrap();
            assert_close(
                out[1].as_tensor().unwrap().as_slice::<f32>().unwrap(),
                &[want],
                1e-6,
                1e-6,
            );
        }
    }
}
