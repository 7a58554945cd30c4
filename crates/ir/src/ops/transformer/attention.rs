//! Attention: scaled dot-product attention with masks, KV cache and grouped-query heads.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Attention.html>
//!
//! Inputs: Q, K, V (3-D `(b, s, heads * d)` or 4-D `(b, heads, s, d)`), optional `attn_mask`
//! (bool, or numeric and added to the scores; broadcast to `(b, q_heads, q_len, total_len)`,
//! a shorter key axis is padded with `-inf`), `past_key`, `past_value` (4-D) and, from opset
//! 24, `nonpad_kv_seqlen` (int64 `(b,)`).
//! Outputs: Y, `present_key`, `present_value` (past concatenated with K / V) and
//! `qk_matmul_output` (chosen by `qk_matmul_output_mode`: 0 raw scores, 1 after softcap,
//! 2 after softcap and bias, 3 after softmax).
//! Attributes: `is_causal`, `q_num_heads`, `kv_num_heads` (3-D inputs only), `scale`
//! (default `1/sqrt(head_size)`, applied as `sqrt(scale)` to Q and K), `softcap`,
//! `softmax_precision`, `qk_matmul_output_mode`; opset 25 adds `left_window_size` and
//! `right_window_size`. Opset 24 made causal masking bottom-right aligned (offset by the
//! cache) and added `nonpad_kv_seqlen`.
//!
//! GQA: query head `h` reads KV head `h / (q_heads / kv_heads)`. A query row whose bias is
//! entirely `-inf` yields zeros in Y and in the mode-3 output. Arithmetic follows
//! onnx/reference/ops/op_attention.py, rounding intermediates to the input precision.

use super::attention_bias::{Bias, BiasSpec};
use super::attention_kernel::{attend, concat_seq};
use super::common::{as_4d, dim_add, dim_div, dim_mul, float_dtype_attr, pack_heads, rounder};
use crate::attr::{AttrList, Attribute};
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Result, TensorType, Value, ValueType};
use edgeopt_tensor::{DType, Dim, Tensor};

#[derive(Clone, Debug)]
pub struct Attention {
    pub is_causal: bool,
    pub q_num_heads: Option<usize>,
    pub kv_num_heads: Option<usize>,
    pub scale: Option<f32>,
    /// 0 disables soft capping.
    pub softcap: f32,
    pub softmax_precision: Option<DType>,
    pub qk_matmul_output_mode: i64,
    pub left_window_size: i64,
    pub right_window_size: i64,
}

fn heads_attr(ctx: &mut BuildCtx, name: &str) -> Result<Option<usize>> {
    match ctx.attrs.int(name)? {
        None | Some(0) => Ok(None),
        Some(h) if h > 0 => Ok(Some(h as usize)),
        Some(h) => bail!("Attention: attribute {name} must be positive, got {h}"),
    }
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let softmax_precision = match ctx.attrs.int("softmax_precision")? {
        None | Some(0) => None,
        Some(c) => Some(float_dtype_attr("Attention", "softmax_precision", c)?),
    };
    let mode = ctx.attrs.int_or("qk_matmul_output_mode", 0)?;
    if !(0..=3).contains(&mode) {
        bail!("Attention: qk_matmul_output_mode must be 0..=3, got {mode}");
    }
    let left_window_size = ctx.attrs.int_or("left_window_size", -1)?;
    let right_window_size = ctx.attrs.int_or("right_window_size", -1)?;
    if left_window_size < -1 || right_window_size < -1 {
        bail!("Attention: window sizes must be -1 or nonnegative, got left {left_window_size}, right {right_window_size}");
    }
    if ctx.num_outputs > 4 || ctx.num_inputs > 7 {
        bail!(
            "Attention: takes at most 7 inputs and 4 outputs, got {} and {}",
            ctx.num_inputs,
            ctx.num_outputs
        );
    }
    Ok(Box::new(Attention {
        is_causal: ctx.attrs.int_or("is_causal", 0)? != 0,
        q_num_heads: heads_attr(ctx, "q_num_heads")?,
        kv_num_heads: heads_attr(ctx, "kv_num_heads")?,
        scale: ctx.attrs.float("scale")?,
        softcap: ctx.attrs.float_or("softcap", 0.0)?,
        softmax_precision,
        qk_matmul_output_mode: mode,
        left_window_size,
        right_window_size,
    }))
}

/// Static head layout: `[b, q_heads, q_len, head]` etc. from the input dims (symbolic).
struct SymDims {
    b: Dim,
    hq: Dim,
    lq: Dim,
    hkv: Dim,
    dk: Dim,
    dv: Dim,
    total: Dim,
}

impl Attention {
    /// `(b, heads, s, d)` dims of a 3-D or 4-D input.
    fn sym4(&self, s: &[Dim], heads: Option<usize>) -> Option<[Dim; 4]> {
        match s {
            [b, h, l, d] => Some([b.clone(), h.clone(), l.clone(), d.clone()]),
            [b, l, hidden] => {
                let h = heads?;
                Some([b.clone(), Dim::Known(h), l.clone(), dim_div(hidden, h)])
            }
            _ => None,
        }
    }

    fn sym_dims(&self, q: &[Dim], k: &[Dim], v: &[Dim], past: Option<&[Dim]>) -> Option<SymDims> {
        let [b, hq, lq, dk] = self.sym4(q, self.q_num_heads)?;
        let [_, hkv, lkv, _] = self.sym4(k, self.kv_num_heads)?;
        let [_, _, _, dv] = self.sym4(v, self.kv_num_heads)?;
        let total = match past {
            Some([_, _, p, _]) => dim_add(p, &lkv),
            _ => lkv,
        };
        Some(SymDims {
            b,
            hq,
            lq,
            hkv,
            dk,
            dv,
            total,
        })
    }
}

fn tensor_out(dtype: Option<DType>, shape: Option<Vec<Dim>>) -> ValueType {
    ValueType::Tensor(TensorType { dtype, shape })
}

impl Op for Attention {
    fn op_type(&self) -> &str {
        "Attention"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let (q, k, v) = (ctx.tensor(0), ctx.tensor(1), ctx.tensor(2));
        for (name, t) in [("Q", &q), ("K", &k), ("V", &v)] {
            if let Some(r) = t.rank() {
                if r != 3 && r != 4 {
                    bail!("Attention: {name} must be 3-D or 4-D, got rank {r}");
                }
            }
        }
        let past = ctx.input(4).shape().cloned();
        let dims = match (&q.shape, &k.shape, &v.shape) {
            (Some(q), Some(k), Some(v)) => self.sym_dims(q, k, v, past.as_deref()),
            _ => None,
        };
        let three_d = q.rank() == Some(3);
        let y = dims.as_ref().map(|d| {
            if three_d {
                vec![d.b.clone(), d.lq.clone(), dim_mul(&d.hq, &d.dv)]
            } else {
                vec![d.b.clone(), d.hq.clone(), d.lq.clone(), d.dv.clone()]
            }
        });
        let pk = dims
            .as_ref()
            .map(|d| vec![d.b.clone(), d.hkv.clone(), d.total.clone(), d.dk.clone()]);
        let pv = dims
            .as_ref()
            .map(|d| vec![d.b.clone(), d.hkv.clone(), d.total.clone(), d.dv.clone()]);
        let qk = dims
            .as_ref()
            .map(|d| vec![d.b.clone(), d.hq.clone(), d.lq.clone(), d.total.clone()]);
        let outs = [
            tensor_out(q.dtype, y),
            tensor_out(k.dtype, pk),
            tensor_out(v.dtype, pv),
            tensor_out(q.dtype, qk),
        ];
        Ok(outs.into_iter().take(ctx.num_outputs.max(1)).collect())
    }

    fn eval(&self, ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        Ok(self
            .run(inputs, ctx.num_outputs.max(1))?
            .into_iter()
            .map(Value::Tensor)
            .collect())
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        let mut c = ctx.movement();
        let known = |i: usize| ctx.inputs.get(i).and_then(|t| t.shape.clone());
        let dims = match (known(0), known(1), known(2)) {
            (Some(q), Some(k), Some(v)) => self.sym_dims(&q, &k, &v, known(4).as_deref()),
            _ => None,
        };
        if let Some(d) = dims {
            let get = |x: &Dim| x.known().unwrap_or(0) as u64;
            let scores = get(&d.b) * get(&d.hq) * get(&d.lq) * get(&d.total);
            c.macs = scores * (get(&d.dk) + get(&d.dv));
            // Scaling of Q and K, then bias, softcap and softmax on every score.
            c.flops = scores * 6
                + get(&d.b) * get(&d.dk) * (get(&d.hq) * get(&d.lq) + get(&d.hkv) * get(&d.total));
        }
        c
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let opt = |c: bool, v: i64| if c { Some(v) } else { None };
        AttrList::default()
            .opt_int("is_causal", opt(self.is_causal, 1))
            .opt_int("q_num_heads", self.q_num_heads.map(|h| h as i64))
            .opt_int("kv_num_heads", self.kv_num_heads.map(|h| h as i64))
            .opt_float("scale", self.scale)
            .opt_float(
                "softcap",
                if self.softcap != 0.0 {
                    Some(self.softcap)
                } else {
                    None
                },
            )
            .opt_int(
                "softmax_precision",
                self.softmax_precision.map(|d| d.onnx_code() as i64),
            )
            .opt_int(
                "qk_matmul_output_mode",
                opt(self.qk_matmul_output_mode != 0, self.qk_matmul_output_mode),
            )
            .opt_int(
                "left_window_size",
                opt(self.left_window_size != -1, self.left_window_size),
            )
            .opt_int(
                "right_window_size",
                opt(self.right_window_size != -1, self.right_window_size),
            )
            .build()
    }
}

impl Attention {
    /// The first `n_out` of Y, present_key, present_value, qk_matmul_output.
    fn run(&self, inputs: &Inputs, n_out: usize) -> Result<Vec<Tensor>> {
        let (q_t, k_t, v_t) = (inputs.tensor(0)?, inputs.tensor(1)?, inputs.tensor(2)?);
        let (mask, past_k, past_v) = (
            inputs.opt_tensor(3)?,
            inputs.opt_tensor(4)?,
            inputs.opt_tensor(5)?,
        );
        let nonpad = inputs.opt_tensor(6)?.map(|t| t.to_i64_vec()).transpose()?;
        let t1 = q_t.dtype();
        rounder("Attention", t1)?;
        rounder("Attention", v_t.dtype())?;
        if q_t.rank() != k_t.rank() || q_t.rank() != v_t.rank() {
            bail!(
                "Attention: Q {:?}, K {:?} and V {:?} must have the same rank",
                q_t.shape(),
                k_t.shape(),
                v_t.shape()
            );
        }
        let (q, [b, hq, lq, dk]) = as_4d(
            "Attention",
            "Q",
            q_t.to_f64_vec()?,
            q_t.shape(),
            self.q_num_heads,
        )?;
        let (k, [kb, hkv, lkv, kdk]) = as_4d(
            "Attention",
            "K",
            k_t.to_f64_vec()?,
            k_t.shape(),
            self.kv_num_heads,
        )?;
        let (v, [vb, vh, vl, dv]) = as_4d(
            "Attention",
            "V",
            v_t.to_f64_vec()?,
            v_t.shape(),
            self.kv_num_heads,
        )?;
        if kb != b || vb != b || vh != hkv || vl != lkv || kdk != dk {
            bail!(
                "Attention: incompatible Q {:?}, K {:?}, V {:?} (as 4-D: [{b},{hq},{lq},{dk}], [{kb},{hkv},{lkv},{kdk}], [{vb},{vh},{vl},{dv}])",
                q_t.shape(),
                k_t.shape(),
                v_t.shape()
            );
        }
        if hkv == 0 || hq % hkv != 0 {
            bail!("Attention: {hq} query heads are not a multiple of {hkv} key/value heads");
        }
        let (k, v, past_len) = match (past_k, past_v) {
            (None, None) => (k, v, None),
            (Some(pk), Some(pv)) => {
                if nonpad.is_some() {
                    bail!(
                        "Attention: nonpad_kv_seqlen cannot be combined with past_key/past_value"
                    );
                }
                let p = match pk.shape() {
                    &[pb, ph, p, pd] if pb == b && ph == hkv && pd == dk && pv.shape() == [b, hkv, p, dv] => p,
                    _ => bail!(
                        "Attention: past_key {:?} / past_value {:?} do not match K/V heads [{b},{hkv},_,{dk}] / [{b},{hkv},_,{dv}]",
                        pk.shape(),
                        pv.shape()
                    ),
                };
                let k = concat_seq(&pk.to_f64_vec()?, &k, b, hkv, p, lkv, dk);
                let v = concat_seq(&pv.to_f64_vec()?, &v, b, hkv, p, lkv, dv);
                (k, v, Some(p))
            }
            _ => bail!("Attention: past_key and past_value must be given together"),
        };
        let total = past_len.unwrap_or(0) + lkv;
        let spec = BiasSpec {
            mask,
            is_causal: self.is_causal,
            left: self.left_window_size,
            right: self.right_window_size,
            past_len,
            nonpad,
        };
        let bias = Bias::new(&spec, b, hq, lq, total)?;
        let dims = [b, hq, lq, dk, hkv, total, dv];
        let (y, qk_out) = attend(self, (&q, &k, &v), &bias, dims, t1, n_out > 3)?;
        let y_shape = if q_t.rank() == 3 {
            vec![b, lq, hq * dv]
        } else {
            vec![b, hq, lq, dv]
        };
        let y = if q_t.rank() == 3 {
            pack_heads(&y, b, hq, lq, dv)
        } else {
            y
        };
        let mut outs = vec![Tensor::from_f64s(t1, y_shape, &y)?];
        if n_out > 1 {
            outs.push(Tensor::from_f64s(k_t.dtype(), vec![b, hkv, total, dk], &k)?);
            outs.push(Tensor::from_f64s(v_t.dtype(), vec![b, hkv, total, dv], &v)?);
        }
        if let Some(qk) = qk_out {
            outs.push(Tensor::from_f64s(t1, vec![b, hq, lq, total], &qk)?);
        }
        outs.truncate(n_out);
        Ok(outs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::Attrs;
    use crate::ops::testing::{assert_close, eval, infer};

    fn op(attrs: &[(&str, i64)]) -> Box<dyn Op> {
        let mut a = Attrs::default();
        for (k, v) in attrs {
            a.insert(k, Attribute::Int(*v));
        }
        let mut ctx = BuildCtx {
            opset: 24,
            attrs: &mut a,
            num_inputs: 6,
            num_outputs: 4,
        };
        build(&mut ctx).unwrap()
    }

    fn t(shape: &[usize], v: Vec<f32>) -> Option<Tensor> {
        Some(Tensor::from_vec(shape.to_vec(), v).unwrap())
    }

    fn f32s(v: &Value) -> Vec<f32> {
        v.as_tensor().unwrap().to_vec::<f32>().unwrap()
    }

    /// GQA (2 query heads, 1 KV head), causal, with a one-step past cache. Expected values from
    /// onnx.reference.ops.op_attention._compute_attention (float32), tolerance 1e-6.
    #[test]
    fn gqa_causal_with_past() {
        let q = t(&[1, 2, 2, 2], (0..8).map(|x| x as f32 / 8.0).collect());
        let k = t(&[1, 1, 2, 2], (0..4).map(|x| x as f32 / 4.0).collect());
        let v = t(&[1, 1, 2, 2], (0..4).map(|x| x as f32).collect());
        let (pk, pv) = (
            t(&[1, 1, 1, 2], vec![1.0, -1.0]),
            t(&[1, 1, 1, 2], vec![2.0, 3.0]),
        );
        let op = op(&[("is_causal", 1)]);
        let ins = [q, k, v, None, pk, pv];
        let out = eval(op.as_ref(), &ins, 4).unwrap();
        let want_y = [
            0.9448134, 1.9448135, 1.3556653, 2.3556652, 0.9008896, 1.9008895, 1.4382817, 2.4382815,
        ];
        assert_close(&f32s(&out[0]), &want_y, 1e-6, 1e-6);
        assert_eq!(out[1].as_tensor().unwrap().shape(), &[1, 1, 3, 2]);
        assert_eq!(f32s(&out[2]), vec![2.0, 3.0, 0.0, 1.0, 2.0, 3.0]);
        let qk = f32s(&out[3]);
        assert_close(&qk[..3], &[-0.08838835, 0.02209709, 0.06629127], 1e-6, 1e-6);
        let types = infer(op.as_ref(), &ins, 4).unwrap();
        assert_eq!(types[3], ValueType::known(DType::F32, &[1, 2, 2, 3]));
    }

    /// 3-D inputs with a rank-1 bool mask; mode 3 exposes the probabilities. A fully masked
    /// row gives zeros, not NaN.
    #[test]
    fn packed_heads_bool_mask_and_fully_masked_rows() {
        let q = t(&[1, 1, 4], vec![1.0, 2.0, 3.0, 4.0]);
        let k = t(&[1, 2, 4], vec![1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0]);
        let v = t(&[1, 2, 2], vec![1.0, 2.0, 3.0, 4.0]);
        let op = op(&[
            ("q_num_heads", 2),
            ("kv_num_heads", 2),
            ("qk_matmul_output_mode", 3),
        ]);
        let mask = Some(Tensor::vec1(vec![true, false]));
        let out = eval(op.as_ref(), &[q.clone(), k.clone(), v.clone(), mask], 4).unwrap();
        assert_eq!(f32s(&out[0]), vec![1.0, 2.0]);
        assert_eq!(f32s(&out[3]), vec![1.0, 0.0, 1.0, 0.0]);
        let none = Some(Tensor::vec1(vec![false, false]));
        let out = eval(op.as_ref(), &[q, k, v, none], 1).unwrap();
        assert_eq!(f32s(&out[0]), vec![0.0, 0.0]);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let op4 = op(&[]);
        let q = t(&[1, 3, 2, 2], vec![0.0; 12]);
        let kv = t(&[1, 2, 2, 2], vec![0.0; 8]);
        assert!(
            eval(op4.as_ref(), &[q, kv.clone(), kv.clone()], 1).is_err(),
            "3 q heads over 2 kv heads"
        );
        let q3 = t(&[1, 2, 4], vec![0.0; 8]);
        assert!(
            eval(op4.as_ref(), &[q3, kv.clone(), kv], 1).is_err(),
            "mixed ranks"
        );
        let q3 = t(&[1, 2, 4], vec![0.0; 8]);
        let k3 = t(&[1, 2, 4], vec![0.0; 8]);
        assert!(
            eval(op4.as_ref(), &[q3, k3.clone(), k3], 1).is_err(),
            "3-D without num_heads"
        );
    }
}
