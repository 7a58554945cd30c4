//! LSTM: long short-term memory with gates i (input), o (output), f (forget), c (cell), in
//! that order in W, R and B; peepholes P in the order i, o, f.
//! Spec: <https://onnx.ai/onnx/operators/onnx__LSTM.html>
//!
//! `i = f(X Wi + H Ri + Pi * C + Wbi + Rbi)`, `f = f(X Wf + H Rf + Pf * C + Wbf + Rbf)`
//! (or `1 - i` with `input_forget`), `c = g(X Wc + H Rc + Wbc + Rbc)`, `C' = f * C + i * c`,
//! `o = f(X Wo + H Ro + Po * C' + Wbo + Rbo)`, `H' = o * h(C')`.
//! Attributes: those of RNN (activations default [Sigmoid, Tanh, Tanh] per direction) plus
//! `input_forget` (default 0). Inputs: `X`, `W`, `R`, optional `B`, `sequence_lens`,
//! `initial_h`, `initial_c`, `P`. Outputs (optional): `Y`, `Y_h`, `Y_c`.

use super::activation::Act;
use super::common::{export, rnn_cost, RnnAttrs};
use super::driver::{dir_weights, matvec};
use crate::attr::{AttrList, Attribute};
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::quant::common::values_f64;
use crate::registry::BuildCtx;
use crate::{bail, Result, Value, ValueType};

#[derive(Clone, Debug)]
pub struct Lstm {
    pub attrs: RnnAttrs,
    pub input_forget: Option<i64>,
    acts: Vec<Vec<Act>>,
}

impl Lstm {
    pub fn new(attrs: RnnAttrs, input_forget: Option<i64>) -> Result<Lstm> {
        let acts = attrs.acts("LSTM", &["Sigmoid", "Tanh", "Tanh"])?;
        Ok(Lstm {
            attrs,
            input_forget,
            acts,
        })
    }
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let attrs = RnnAttrs::parse(ctx, "LSTM")?;
    let input_forget = ctx.attrs.int("input_forget")?;
    Ok(Box::new(Lstm::new(attrs, input_forget)?))
}

impl Op for Lstm {
    fn op_type(&self) -> &str {
        "LSTM"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        self.attrs.infer("LSTM", ctx, 4, 3)
    }

    fn eval(&self, ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let a = &self.attrs;
        let io = a.inputs("LSTM", inputs, 4)?;
        let n = io.hidden;
        let c0 = a.state(
            "LSTM",
            "initial_c",
            inputs.opt_tensor(6)?,
            io.dirs,
            io.batch,
            n,
        )?;
        let p = match inputs.opt_tensor(7)? {
            Some(p) if p.shape() == [io.dirs, 3 * n] => values_f64(p)?,
            Some(p) => bail!(
                "LSTM: P has shape {:?}, expected [{}, {}]",
                p.shape(),
                io.dirs,
                3 * n
            ),
            None => vec![0.0; io.dirs * 3 * n],
        };
        let coupled = self.input_forget.unwrap_or(0) != 0;
        a.run(&io, &c0, ctx.num_outputs.min(3), |d, x, h, c| {
            let (w, r, wb, rb) = dir_weights(&io, 4, d);
            let [fa, ga, ha] = [self.acts[d][0], self.acts[d][1], self.acts[d][2]];
            let pd = &p[d * 3 * n..(d + 1) * 3 * n];
            let gx = matvec(w, x, wb);
            let gh = matvec(r, h, rb);
            let pre = |gate: usize, i: usize| gx[gate * n + i] + gh[gate * n + i];
            let mut h_new = vec![0.0; n];
            let mut c_new = vec![0.0; n];
            for i in 0..n {
                let ig = fa.apply(a.clip(pre(0, i) + pd[i] * c[i]));
                let fg = if coupled {
                    1.0 - ig
                } else {
                    fa.apply(a.clip(pre(2, i) + pd[2 * n + i] * c[i]))
                };
                let cg = ga.apply(a.clip(pre(3, i)));
                c_new[i] = fg * c[i] + ig * cg;
                let og = fa.apply(a.clip(pre(1, i) + pd[n + i] * c_new[i]));
                // onnxruntime clips gate inputs only, not the cell state fed to h.
                h_new[i] = og * ha.apply(c_new[i]);
            }
            (h_new, c_new)
        })
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        rnn_cost(ctx, 4, self.attrs.num_dirs())
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        export(
            &self.attrs,
            AttrList::default().opt_int("input_forget", self.input_forget),
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
    fn one_step_with_peepholes() {
        // hidden 1, input 1, W = R = 0.5 for every gate, x = 2, h0 = 0, c0 = 1, P = [0.1, 0.2, 0.3].
        let x = Tensor::from_vec(vec![1, 1, 1], vec![2f32]).unwrap();
        let w = Tensor::from_vec(vec![1, 4, 1], vec![0.5f32; 4]).unwrap();
        let r = Tensor::from_vec(vec![1, 4, 1], vec![0.5f32; 4]).unwrap();
        let h0 = Tensor::from_vec(vec![1, 1, 1], vec![0f32]).unwrap();
        let c0 = Tensor::from_vec(vec![1, 1, 1], vec![1f32]).unwrap();
        let p = Tensor::from_vec(vec![1, 3], vec![0.1f32, 0.2, 0.3]).unwrap();
        let ins = [
            Some(x),
            Some(w),
            Some(r),
            None,
            None,
            Some(h0),
            Some(c0),
            Some(p),
        ];
        let op = Lstm::new(
            RnnAttrs {
                hidden_size: Some(1),
                ..Default::default()
            },
            None,
        )
        .unwrap();
        let out = eval(&op, &ins, 3).unwrap();
        let (i, f, c) = (sigmoid(1.0 + 0.1), sigmoid(1.0 + 0.3), 1f32.tanh());
        let cn = f + i * c;
        let o = sigmoid(1.0 + 0.2 * cn);
        assert_close(
            out[2].as_tensor().unwrap().as_slice::<f32>().unwrap(),
            &[cn],
            1e-6,
            1e-6,
        );
        assert_close(
            out[1].as_tensor().unwrap().as_slice::<f32>().unwrap(),
            &[o * cn.tanh()],
            1e-6,
            1e-6,
        );
    }
}
