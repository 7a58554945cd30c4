//! LinearAttention (opset 27): recurrent linear attention with optional gating and delta rule,
//! one token at a time over a `(d_k, d_v)` state per KV head.
//! Spec: <https://onnx.ai/onnx/operators/onnx__LinearAttention.html>
//!
//! Inputs (packed 3-D `(b, t, heads * d)`): `query` (`q_num_heads` heads), `key`, `value`
//! (`kv_num_heads` heads); optional `past_state` `(b, kv_heads, d_k, d_v)` (zeros when absent),
//! `decay` (log-space gate, `(b, t, kv_heads)` or `(b, t, kv_heads * d_k)`) and `beta`
//! (`(b, t, kv_heads)` or `(b, t, 1)`).
//! Attributes: `q_num_heads`, `kv_num_heads` (required, q a multiple of kv), `scale` (0: use
//! `1/sqrt(d_k)`), `update_rule` (`linear`, `gated`, `delta`, `gated_delta` (default): gated
//! rules need `decay`, delta rules need `beta`, others forbid them), `chunk_size` (a tuning
//! hint with no effect on results).
//! Outputs: `output` `(b, t, q_heads * d_v)` and `present_state`.
//! Per token: `S *= exp(g)`; delta: `v = beta * (v - S^T k)`; `S += k v^T`; `o = scale q^T S`.
//! Arithmetic is float32, as in the reference.

use super::common::dim_mul;
use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{Dim, Tensor};

#[derive(Clone, Debug)]
pub struct LinearAttention {
    pub q_num_heads: usize,
    pub kv_num_heads: usize,
    pub scale: f32,
    pub update_rule: String,
    pub chunk_size: i64,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let q = ctx.attrs.int("q_num_heads")?.unwrap_or(0);
    let kv = ctx.attrs.int("kv_num_heads")?.unwrap_or(0);
    if q <= 0 || kv <= 0 || q % kv != 0 {
        bail!(
            "LinearAttention: q_num_heads ({q}) must be a positive multiple of kv_num_heads ({kv})"
        );
    }
    let update_rule = ctx.attrs.string_or("update_rule", "gated_delta")?;
    if !matches!(
        update_rule.as_str(),
        "linear" | "gated" | "delta" | "gated_delta"
    ) {
        bail!("LinearAttention: update_rule must be linear, gated, delta or gated_delta, got '{update_rule}'");
    }
    Ok(Box::new(LinearAttention {
        q_num_heads: q as usize,
        kv_num_heads: kv as usize,
        scale: ctx.attrs.float_or("scale", 0.0)?,
        update_rule,
        chunk_size: ctx.attrs.int_or("chunk_size", 64)?,
    }))
}

fn f(x: f64) -> f64 {
    x as f32 as f64
}

/// Reads a `(b, t, width)` side input as `[(b, t, col)]`, checking its width.
fn side(
    t: Option<&Tensor>,
    b: usize,
    tl: usize,
    widths: &[usize],
    name: &str,
) -> Result<Option<(Vec<f64>, usize)>> {
    let Some(t) = t else { return Ok(None) };
    match *t.shape() {
        [tb, tt, w] if tb == b && tt == tl && widths.contains(&w) => Ok(Some((t.to_f64_vec()?, w))),
        _ => bail!(
            "LinearAttention: {name} {:?} must be [{b}, {tl}, one of {widths:?}]",
            t.shape()
        ),
    }
}

impl LinearAttention {
    fn run(&self, inputs: &Inputs) -> Result<[Tensor; 2]> {
        let (q_t, k_t, v_t) = (inputs.tensor(0)?, inputs.tensor(1)?, inputs.tensor(2)?);
        let (hq, hkv) = (self.q_num_heads, self.kv_num_heads);
        let (&[b, tl, qw], &[kb, kt, kw], &[vb, vt, vw]) = (q_t.shape(), k_t.shape(), v_t.shape())
        else {
            bail!(
                "LinearAttention: query, key, value must be 3-D, got {:?}, {:?}, {:?}",
                q_t.shape(),
                k_t.shape(),
                v_t.shape()
            );
        };
        let dk = qw / hq;
        if qw % hq != 0 || (kb, kt, kw) != (b, tl, hkv * dk) || (vb, vt) != (b, tl) || vw % hkv != 0
        {
            bail!(
                "LinearAttention: query {:?}, key {:?}, value {:?} do not fit {hq} query / {hkv} kv heads",
                q_t.shape(),
                k_t.shape(),
                v_t.shape()
            );
        }
        let dv = vw / hkv;
        let gating = self.update_rule.starts_with("gated");
        let delta = self.update_rule.ends_with("delta");
        let decay = side(inputs.opt_tensor(4)?, b, tl, &[hkv, hkv * dk], "decay")?;
        let beta = side(inputs.opt_tensor(5)?, b, tl, &[hkv, 1], "beta")?;
        if gating != decay.is_some() || delta != beta.is_some() {
            bail!(
                "LinearAttention: update_rule '{}' needs decay: {gating}, beta: {delta}",
                self.update_rule
            );
        }
        let state_len = checked_numel(&[b, hkv, dk, dv])?;
        let past = inputs.opt_tensor(3)?;
        let mut s = match past {
            Some(p) if p.shape() != [b, hkv, dk, dv] => {
                bail!(
                    "LinearAttention: past_state {:?} must be [{b}, {hkv}, {dk}, {dv}]",
                    p.shape()
                )
            }
            Some(p) => p.to_f64_vec()?.into_iter().map(f).collect(),
            None => vec![0.0; state_len],
        };
        let scale = if self.scale == 0.0 {
            1.0 / (dk as f64).sqrt()
        } else {
            self.scale as f64
        };
        let (q, k, v) = (q_t.to_f64_vec()?, k_t.to_f64_vec()?, v_t.to_f64_vec()?);
        let mut out = vec![0.0; checked_numel(&[b, tl, hq * dv])?];
        let group = hq / hkv;
        let mut vt = vec![0.0; dv];
        for bi in 0..b {
            for t in 0..tl {
                let row = bi * tl + t;
                for h in 0..hkv {
                    let st = &mut s[(bi * hkv + h) * dk * dv..][..dk * dv];
                    let kt = &k[row * hkv * dk + h * dk..][..dk];
                    vt.copy_from_slice(&v[row * hkv * dv + h * dv..][..dv]);
                    if let Some((g, w)) = &decay {
                        for d in 0..dk {
                            let gi = if *w == hkv {
                                row * w + h
                            } else {
                                row * w + h * dk + d
                            };
                            let e = f(g[gi].exp());
                            st[d * dv..(d + 1) * dv]
                                .iter_mut()
                                .for_each(|x| *x = f(*x * e));
                        }
                    }
                    if let Some((be, w)) = &beta {
                        let bt = be[row * w + if *w == 1 { 0 } else { h }];
                        for (m, x) in vt.iter_mut().enumerate() {
                            let got = f((0..dk).map(|d| st[d * dv + m] * kt[d]).sum());
                            *x = f(bt * f(*x - got));
                        }
                    }
                    for d in 0..dk {
                        for m in 0..dv {
                            st[d * dv + m] = f(st[d * dv + m] + f(kt[d] * vt[m]));
                        }
                    }
                }
                for h in 0..hq {
                    let st = &s[(bi * hkv + h / group) * dk * dv..][..dk * dv];
                    let qt = &q[row * hq * dk + h * dk..][..dk];
                    for m in 0..dv {
                        let acc: f64 = (0..dk).map(|d| qt[d] * st[d * dv + m]).sum();
                        out[row * hq * dv + h * dv + m] = f(scale * f(acc));
                    }
                }
            }
        }
        let state_dt = past.map(|p| p.dtype()).unwrap_or(q_t.dtype());
        Ok([
            Tensor::from_f64s(q_t.dtype(), vec![b, tl, hq * dv], &out)?,
            Tensor::from_f64s(state_dt, vec![b, hkv, dk, dv], &s)?,
        ])
    }
}

impl Op for LinearAttention {
    fn op_type(&self) -> &str {
        "LinearAttention"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let (q, v) = (ctx.tensor(0), ctx.tensor(2));
        let (hq, hkv) = (Dim::Known(self.q_num_heads), self.kv_num_heads);
        let dims = match (&q.shape, &v.shape) {
            (Some(qs), Some(vs)) if qs.len() == 3 && vs.len() == 3 => {
                let dk = super::common::dim_div(&qs[2], self.q_num_heads);
                let dv = super::common::dim_div(&vs[2], hkv);
                Some((qs[0].clone(), qs[1].clone(), dk, dv))
            }
            (Some(qs), _) if qs.len() != 3 => {
                bail!("LinearAttention: query must be 3-D, got rank {}", qs.len())
            }
            _ => None,
        };
        let out = dims
            .as_ref()
            .map(|(b, t, _, dv)| vec![b.clone(), t.clone(), dim_mul(&hq, dv)]);
        let state = dims.map(|(b, _, dk, dv)| vec![b, Dim::Known(hkv), dk, dv]);
        let state_dt = ctx.input(3).dtype().or(q.dtype);
        Ok(vec![
            ValueType::Tensor(TensorType {
                dtype: q.dtype,
                shape: out,
            }),
            ValueType::Tensor(TensorType {
                dtype: state_dt,
                shape: state,
            }),
        ])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        Ok(self.run(inputs)?.into_iter().map(Value::Tensor).collect())
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        let mut cost = ctx.elementwise(1);
        // Per token and KV head: the state update (d_k * d_v, twice with the delta rule), and
        // per query head the read-out (d_k * d_v).
        if let (Some(q), Some(v)) = (ctx.input_shape(0), ctx.input_shape(2)) {
            if let ([b, t, qw], [_, _, vw]) = (q.as_slice(), v.as_slice()) {
                let (dk, dv) = (
                    (qw / self.q_num_heads) as u64,
                    (vw / self.kv_num_heads) as u64,
                );
                let writes = if self.update_rule.ends_with("delta") {
                    2
                } else {
                    1
                };
                let heads = (self.q_num_heads + writes * self.kv_num_heads) as u64;
                cost.macs = (b * t) as u64 * heads * dk * dv;
            }
        }
        cost
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .int("q_num_heads", self.q_num_heads as i64)
            .int("kv_num_heads", self.kv_num_heads as i64)
            .opt_float(
                "scale",
                if self.scale != 0.0 {
                    Some(self.scale)
                } else {
                    None
                },
            )
            .opt_string(
                "update_rule",
                if self.update_rule != "gated_delta" {
                    Some(self.update_rule.as_str())
                } else {
                    None
                },
            )
            .opt_int(
                "chunk_size",
                if self.chunk_size != 64 {
                    Some(self.chunk_size)
                } else {
                    None
                },
            )
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval};

    fn op(rule: &str) -> LinearAttention {
        LinearAttention {
            q_num_heads: 1,
            kv_num_heads: 1,
            scale: 1.0,
            update_rule: rule.into(),
            chunk_size: 64,
        }
    }

    fn t(shape: &[usize], v: Vec<f32>) -> Option<Tensor> {
        Some(Tensor::from_vec(shape.to_vec(), v).unwrap())
    }

    /// d_k = d_v = 1, two tokens, by hand. Linear: S = k0 v0 + k1 v1 = 2 + 12 = 14, o1 = q1 S.
    /// Gated (decay ln 0.5): S0 = 2, S1 = 0.5 * 2 + 12 = 13.
    #[test]
    fn scalar_recurrences() {
        let (q, k, v) = (
            t(&[1, 2, 1], vec![1.0, 2.0]),
            t(&[1, 2, 1], vec![1.0, 3.0]),
            t(&[1, 2, 1], vec![2.0, 4.0]),
        );
        let out = eval(&op("linear"), &[q.clone(), k.clone(), v.clone()], 2).unwrap();
        assert_eq!(
            out[0].as_tensor().unwrap().to_vec::<f32>().unwrap(),
            vec![2.0, 28.0]
        );
        assert_eq!(
            out[1].as_tensor().unwrap().to_vec::<f32>().unwrap(),
            vec![14.0]
        );
        let g = t(&[1, 2, 1], vec![0.0, 0.5f32.ln()]);
        let out = eval(&op("gated"), &[q.clone(), k.clone(), v.clone(), None, g], 2).unwrap();
        assert_close(
            &out[1].as_tensor().unwrap().to_vec::<f32>().unwrap(),
            &[13.0],
            1e-5,
            1e-6,
        );
        // Delta with beta 1: S0 = 1 * 2 = 2; v1' = 4 - 2 * 3 = -2, S1 = 2 + 3 * -2 = -4.
        let beta = t(&[1, 2, 1], vec![1.0, 1.0]);
        let out = eval(&op("delta"), &[q, k, v, None, None, beta], 2).unwrap();
        assert_eq!(
            out[1].as_tensor().unwrap().to_vec::<f32>().unwrap(),
            vec![-4.0]
        );
    }

    #[test]
    fn missing_gate_inputs_are_errors() {
        let x = t(&[1, 1, 1], vec![1.0]);
        assert!(eval(&op("gated_delta"), &[x.clone(), x.clone(), x], 2).is_err());
    }
}
