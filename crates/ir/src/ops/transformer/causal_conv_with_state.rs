//! CausalConvWithState (opset 27): depthwise causal 1-D convolution carrying its left context
//! between calls (Mamba / linear-attention style short convolutions).
//! Spec: <https://onnx.ai/onnx/operators/onnx__CausalConvWithState.html>
//!
//! Inputs: `input` `(b, c, l)`, `weight` `(c, 1, k)`, optional `bias` `(c)` and `past_state`
//! `(b, c, k - 1)` (zeros when absent).
//! Attribute: `activation`: `none` (default), `silu` or its alias `swish`.
//! Outputs: `output` `(b, c, l)` = conv of `past_state ++ input` with valid padding (then the
//! activation, computed in f32), and `present_state` `(b, c, k - 1)`: the last `k - 1` columns
//! of `past_state ++ input`.

use super::common::rounder;
use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{Dim, Tensor};

#[derive(Clone, Debug)]
pub struct CausalConvWithState {
    /// "none", "silu" or "swish".
    pub activation: String,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let activation = ctx.attrs.string_or("activation", "none")?;
    if !matches!(activation.as_str(), "none" | "silu" | "swish") {
        bail!("CausalConvWithState: activation must be none, silu or swish, got '{activation}'");
    }
    Ok(Box::new(CausalConvWithState { activation }))
}

impl CausalConvWithState {
    fn run(
        &self,
        x_t: &Tensor,
        w_t: &Tensor,
        bias: Option<&Tensor>,
        past: Option<&Tensor>,
    ) -> Result<[Tensor; 2]> {
        let dt = x_t.dtype();
        let r = rounder("CausalConvWithState", dt)?;
        let (&[b, c, l], &[wc, 1, k]) = (x_t.shape(), w_t.shape()) else {
            bail!(
                "CausalConvWithState: input {:?} must be (b, c, l) and weight {:?} (c, 1, k)",
                x_t.shape(),
                w_t.shape()
            );
        };
        if wc != c || k == 0 {
            bail!(
                "CausalConvWithState: weight {:?} does not match {c} channels",
                w_t.shape()
            );
        }
        let (x, w) = (x_t.to_f64_vec()?, w_t.to_f64_vec()?);
        let bias = match bias {
            Some(t) if t.shape() != [c] => {
                bail!("CausalConvWithState: bias {:?} must be [{c}]", t.shape())
            }
            Some(t) => t.to_f64_vec()?,
            None => vec![0.0; c],
        };
        let past = match past {
            Some(t) if t.shape() != [b, c, k - 1] => {
                bail!(
                    "CausalConvWithState: past_state {:?} must be [{b}, {c}, {}]",
                    t.shape(),
                    k - 1
                )
            }
            Some(t) => t.to_f64_vec()?,
            None => vec![0.0; checked_numel(&[b, c, k - 1])?],
        };
        let width = l + k - 1;
        let mut y = Vec::with_capacity(checked_numel(&[b, c, l])?);
        let mut state = Vec::with_capacity(past.len());
        let silu = self.activation != "none";
        for bc in 0..b * c {
            let ch = bc % c;
            let row: Vec<f64> = past[bc * (k - 1)..(bc + 1) * (k - 1)]
                .iter()
                .chain(&x[bc * l..(bc + 1) * l])
                .copied()
                .collect();
            for t in 0..l {
                let acc: f64 = (0..k).map(|j| row[t + j] * w[ch * k + j]).sum::<f64>() + bias[ch];
                let v = r(acc);
                y.push(if silu {
                    r((v * (1.0 / (1.0 + (-v).exp()))) as f32 as f64)
                } else {
                    v
                });
            }
            state.extend_from_slice(&row[width - (k - 1)..]);
        }
        Ok([
            Tensor::from_f64s(dt, vec![b, c, l], &y)?,
            Tensor::from_f64s(dt, vec![b, c, k - 1], &state)?,
        ])
    }
}

impl Op for CausalConvWithState {
    fn op_type(&self) -> &str {
        "CausalConvWithState"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let (x, w) = (ctx.tensor(0), ctx.tensor(1));
        if let Some(r) = x.rank().filter(|&r| r != 3) {
            bail!("CausalConvWithState: input must be 3-D, got rank {r}");
        }
        let state = match (&x.shape, &w.shape) {
            (Some(xs), Some(ws)) if ws.len() == 3 => match &ws[2] {
                Dim::Known(k) if *k > 0 => {
                    Some(vec![xs[0].clone(), xs[1].clone(), Dim::Known(k - 1)])
                }
                _ => Some(vec![xs[0].clone(), xs[1].clone(), Dim::Unknown]),
            },
            _ => None,
        };
        Ok(vec![
            ValueType::Tensor(x.clone()),
            ValueType::Tensor(TensorType {
                dtype: x.dtype,
                shape: state,
            }),
        ])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let outs = self.run(
            inputs.tensor(0)?,
            inputs.tensor(1)?,
            inputs.opt_tensor(2)?,
            inputs.opt_tensor(3)?,
        )?;
        Ok(outs.into_iter().map(Value::Tensor).collect())
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        let mut cost = ctx.elementwise(if self.activation == "none" { 1 } else { 4 });
        let k = ctx
            .input_shape(1)
            .and_then(|s| s.get(2).copied())
            .unwrap_or(0) as u64;
        cost.macs = ctx.output_elems(0) * k;
        cost
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let act = if self.activation != "none" {
            Some(self.activation.as_str())
        } else {
            None
        };
        AttrList::default().opt_string("activation", act).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval;

    fn t(shape: &[usize], v: Vec<f32>) -> Option<Tensor> {
        Some(Tensor::from_vec(shape.to_vec(), v).unwrap())
    }

    /// Kernel [1, 10, 100] over past [7, 8] ++ input [1, 2, 3], by hand:
    /// y0 = 7 + 80 + 100 = 187, y1 = 8 + 10 + 200 = 218, y2 = 1 + 20 + 300 = 321; state [2, 3].
    #[test]
    fn carries_state() {
        let op = CausalConvWithState {
            activation: "none".into(),
        };
        let ins = [
            t(&[1, 1, 3], vec![1.0, 2.0, 3.0]),
            t(&[1, 1, 3], vec![1.0, 10.0, 100.0]),
            t(&[1], vec![0.5]),
            t(&[1, 1, 2], vec![7.0, 8.0]),
        ];
        let out = eval(&op, &ins, 2).unwrap();
        assert_eq!(
            out[0].as_tensor().unwrap().to_vec::<f32>().unwrap(),
            vec![187.5, 218.5, 321.5]
        );
        assert_eq!(
            out[1].as_tensor().unwrap().to_vec::<f32>().unwrap(),
            vec![2.0, 3.0]
        );
    }

    #[test]
    fn bad_shapes_are_errors() {
        let op = CausalConvWithState {
            activation: "silu".into(),
        };
        assert!(eval(
            &op,
            &[t(&[1, 2, 3], vec![0.0; 6]), t(&[1, 1, 3], vec![0.0; 3])],
            2
        )
        .is_err());
        let ins = [
            t(&[1, 1, 3], vec![0.0; 3]),
            t(&[1, 1, 3], vec![0.0; 3]),
            None,
            t(&[1, 1, 3], vec![0.0; 3]),
        ];
        assert!(eval(&op, &ins, 2).is_err());
    }
}
