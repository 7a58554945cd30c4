//! ai.onnx.preview::FlexAttention (preview opset 1): scaled dot-product attention whose
//! scores and probabilities can be rewritten by user subgraphs.
//! Spec: <https://onnx.ai/onnx/operators/onnx_aionnxpreview_FlexAttention.html>
//!
//! Inputs: Q `(b, q_heads, l, e)`, K `(b, kv_heads, s, e)`, V `(b, kv_heads, s, ev)` (4-D only;
//! q_heads a multiple of kv_heads, query head `h` reading KV head `h / group`).
//! Attributes: `scale` (default `1/sqrt(e)`, applied as `sqrt(scale)` to Q and K),
//! `softmax_precision` (default f32 for f16/bf16 inputs, else the input type), and optional
//! graphs `score_mod` (scores `(b, q_heads, l, s)` -> scores) and `prob_mod` (probabilities ->
//! probabilities), each with one input and one output.
//! Output: Y `(b, q_heads, l, ev)` in V's type. Softmax, `prob_mod` and the final matmul run in
//! the softmax precision, as in onnx/reference/ops/aionnx_preview/op_flex_attention.py.

use super::common::{float_dtype_attr, rounder, softmax_row};
use crate::attr::{AttrList, Attribute};
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Graph, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{DType, Tensor};

#[derive(Clone, Debug)]
pub struct FlexAttention {
    pub scale: Option<f32>,
    pub softmax_precision: Option<DType>,
    pub score_mod: Option<Graph>,
    pub prob_mod: Option<Graph>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let softmax_precision = match ctx.attrs.int("softmax_precision")? {
        None | Some(0) => None,
        Some(c) => Some(float_dtype_attr("FlexAttention", "softmax_precision", c)?),
    };
    Ok(Box::new(FlexAttention {
        scale: ctx.attrs.float("scale")?,
        softmax_precision,
        score_mod: ctx.attrs.graph("score_mod")?,
        prob_mod: ctx.attrs.graph("prob_mod")?,
    }))
}

/// Runs a one-in, one-out modifier graph on `x` (shape `shape`, dtype `dt`).
fn apply_mod(
    ctx: &EvalCtx,
    g: &Graph,
    name: &str,
    x: &[f64],
    shape: &[usize],
    dt: DType,
) -> Result<Vec<f64>> {
    let input = Tensor::from_f64s(dt, shape.to_vec(), x)?;
    let outs = ctx.run_subgraph(g, vec![Value::Tensor(input)])?;
    match outs.as_slice() {
        [Value::Tensor(t)] if t.shape() == shape => Ok(t.to_f64_vec()?),
        [Value::Tensor(t)] => bail!(
            "FlexAttention: {name} returned shape {:?}, expected {shape:?}",
            t.shape()
        ),
        _ => bail!(
            "FlexAttention: {name} must return exactly one tensor, got {} values",
            outs.len()
        ),
    }
}

impl FlexAttention {
    fn compute_dtype(&self, t: DType) -> DType {
        match (self.softmax_precision, t) {
            (Some(p), _) => p,
            (None, DType::F16 | DType::BF16) => DType::F32,
            (None, t) => t,
        }
    }

    fn run(&self, ctx: &EvalCtx, q_t: &Tensor, k_t: &Tensor, v_t: &Tensor) -> Result<Tensor> {
        let (&[b, hq, l, e], &[kb, hkv, s, ke], &[vb, vh, vs, ev]) =
            (q_t.shape(), k_t.shape(), v_t.shape())
        else {
            bail!(
                "FlexAttention: Q {:?}, K {:?}, V {:?} must be 4-D",
                q_t.shape(),
                k_t.shape(),
                v_t.shape()
            );
        };
        if kb != b || vb != b || vh != hkv || vs != s || ke != e || hkv == 0 || hq % hkv != 0 {
            bail!(
                "FlexAttention: incompatible Q {:?}, K {:?}, V {:?}",
                q_t.shape(),
                k_t.shape(),
                v_t.shape()
            );
        }
        let t = q_t.dtype();
        let rt = rounder("FlexAttention", t)?;
        let cdt = self.compute_dtype(t);
        let rc = rounder("FlexAttention", cdt)?;
        let scale = self.scale.unwrap_or((1.0 / (e as f64).sqrt()) as f32);
        let sq = rt(scale.sqrt() as f64);
        let q: Vec<f64> = q_t.to_f64_vec()?.into_iter().map(|x| rt(x * sq)).collect();
        let k: Vec<f64> = k_t.to_f64_vec()?.into_iter().map(|x| rt(x * sq)).collect();
        let v: Vec<f64> = v_t.to_f64_vec()?.into_iter().map(rc).collect();
        let group = hq / hkv;
        let score_shape = [b, hq, l, s];
        let mut scores = Vec::with_capacity(checked_numel(&score_shape)?);
        for bh in 0..b * hq {
            let kvh = (bh / hq) * hkv + (bh % hq) / group;
            for i in 0..l {
                let qr = &q[(bh * l + i) * e..][..e];
                for j in 0..s {
                    let kr = &k[(kvh * s + j) * e..][..e];
                    scores.push(rc(rt(qr.iter().zip(kr).map(|(a, c)| a * c).sum())));
                }
            }
        }
        if let Some(g) = &self.score_mod {
            scores = apply_mod(ctx, g, "score_mod", &scores, &score_shape, cdt)?
                .into_iter()
                .map(rc)
                .collect();
        }
        if s > 0 {
            for row in scores.chunks_mut(s) {
                let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                // Unlike Attention, a fully masked row stays NaN here, as in the reference.
                if max == f64::NEG_INFINITY {
                    row.fill(f64::NAN);
                } else {
                    softmax_row(row, rc, cdt == DType::BF16);
                }
            }
        }
        if let Some(g) = &self.prob_mod {
            scores = apply_mod(ctx, g, "prob_mod", &scores, &score_shape, cdt)?
                .into_iter()
                .map(rc)
                .collect();
        }
        let mut y = Vec::with_capacity(checked_numel(&[b, hq, l, ev])?);
        for bh in 0..b * hq {
            let kvh = (bh / hq) * hkv + (bh % hq) / group;
            for i in 0..l {
                let p = &scores[(bh * l + i) * s..][..s];
                for c in 0..ev {
                    y.push(rc(p
                        .iter()
                        .enumerate()
                        .map(|(j, pj)| pj * v[(kvh * s + j) * ev + c])
                        .sum()));
                }
            }
        }
        Ok(Tensor::from_f64s(v_t.dtype(), vec![b, hq, l, ev], &y)?)
    }
}

impl Op for FlexAttention {
    fn op_type(&self) -> &str {
        "FlexAttention"
    }

    fn domain(&self) -> &str {
        "ai.onnx.preview"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let (q, v) = (ctx.tensor(0), ctx.tensor(2));
        for (name, t) in [("Q", &q), ("K", &ctx.tensor(1)), ("V", &v)] {
            if let Some(r) = t.rank().filter(|&r| r != 4) {
                bail!("FlexAttention: {name} must be 4-D, got rank {r}");
            }
        }
        let shape = match (&q.shape, &v.shape) {
            (Some(qs), Some(vs)) => Some(vec![
                qs[0].clone(),
                qs[1].clone(),
                qs[2].clone(),
                vs[3].clone(),
            ]),
            _ => None,
        };
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: v.dtype,
            shape,
        })])
    }

    fn eval(&self, ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        Ok(vec![self
            .run(ctx, inputs.tensor(0)?, inputs.tensor(1)?, inputs.tensor(2)?)?
            .into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        let mut c = ctx.movement();
        if let (Some(q), Some(k), Some(v)) =
            (ctx.input_shape(0), ctx.input_shape(1), ctx.input_shape(2))
        {
            if let ([b, h, l, e], [_, _, s, _], [_, _, _, ev]) =
                (q.as_slice(), k.as_slice(), v.as_slice())
            {
                let scores = (b * h * l * s) as u64;
                c.macs = scores * (e + ev) as u64;
                c.flops = scores * 5;
            }
        }
        c
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let mut a = AttrList::default().opt_float("scale", self.scale).opt_int(
            "softmax_precision",
            self.softmax_precision.map(|d| d.onnx_code() as i64),
        );
        if let Some(g) = &self.score_mod {
            a = a.graph("score_mod", g);
        }
        if let Some(g) = &self.prob_mod {
            a = a.graph("prob_mod", g);
        }
        a.build()
    }

    fn subgraphs(&self) -> Vec<&Graph> {
        self.score_mod.iter().chain(self.prob_mod.iter()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval1};

    /// One query over two keys with scale 1: scores [1, 0], softmax [e/(e+1), 1/(e+1)] =
    /// [0.7310586, 0.2689414]; Y = 0.7310586 * [1, 0] + 0.2689414 * [0, 2] (hand-checked).
    #[test]
    fn plain_softmax_attention() {
        let op = FlexAttention {
            scale: Some(1.0),
            softmax_precision: None,
            score_mod: None,
            prob_mod: None,
        };
        let q = Tensor::from_vec(vec![1, 1, 1, 2], vec![1f32, 0.0]).unwrap();
        let k = Tensor::from_vec(vec![1, 1, 2, 2], vec![1f32, 0.0, 0.0, 1.0]).unwrap();
        let v = Tensor::from_vec(vec![1, 1, 2, 2], vec![1f32, 0.0, 0.0, 2.0]).unwrap();
        let y = eval1(&op, &[Some(q), Some(k), Some(v)]).unwrap();
        assert_eq!(y.shape(), &[1, 1, 1, 2]);
        assert_close(
            &y.to_vec::<f32>().unwrap(),
            &[0.7310586, 0.5378828],
            1e-6,
            1e-6,
        );
    }

    /// A `score_mod` negating the scores flips the weights: Y = [0.2689414, 2 * 0.7310586].
    #[test]
    fn score_mod_subgraph_is_applied() {
        use crate::ops::math::unary::{Unary, UnaryKind};
        let mut g = Graph::new("neg");
        let (x, y) = (
            g.add_value("scores", ValueType::Unknown),
            g.add_value("out", ValueType::Unknown),
        );
        g.add_node(
            "n",
            Box::new(Unary::new(UnaryKind::Neg)),
            vec![Some(x)],
            vec![Some(y)],
        );
        (g.inputs, g.outputs) = (vec![x], vec![y]);
        let op = FlexAttention {
            scale: Some(1.0),
            softmax_precision: None,
            score_mod: Some(g),
            prob_mod: None,
        };
        assert_eq!(op.subgraphs().len(), 1);
        let q = Tensor::from_vec(vec![1, 1, 1, 2], vec![1f32, 0.0]).unwrap();
        let k = Tensor::from_vec(vec![1, 1, 2, 2], vec![1f32, 0.0, 0.0, 1.0]).unwrap();
        let v = Tensor::from_vec(vec![1, 1, 2, 2], vec![1f32, 0.0, 0.0, 2.0]).unwrap();
        let y = eval1(&op, &[Some(q), Some(k), Some(v)]).unwrap();
        assert_close(
            &y.to_vec::<f32>().unwrap(),
            &[0.2689414, 1.4621172],
            1e-6,
            1e-6,
        );
    }

    #[test]
    fn rank_3_inputs_are_errors() {
        let op = FlexAttention {
            scale: None,
            softmax_precision: None,
            score_mod: None,
            prob_mod: None,
        };
        let x = Tensor::from_vec(vec![1, 1, 2], vec![1f32, 0.0]).unwrap();
        assert!(eval1(&op, &[Some(x.clone()), Some(x.clone()), Some(x)]).is_err());
    }
}
