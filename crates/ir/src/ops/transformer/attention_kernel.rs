//! The numeric core of [`Attention`]: KV-cache concatenation and the per-row
//! scores -> softcap -> bias -> softmax -> weighted-sum pipeline, rounding intermediates to the
//! input precision where onnx/reference/ops/op_attention.py materializes them.

use super::attention::Attention;
use super::attention_bias::Bias;
use super::common::{rounder, softmax_row};
use crate::Result;
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::DType;

/// Concatenates `past` `(b, h, p, d)` and `new` `(b, h, l, d)` along the sequence axis.
pub fn concat_seq(
    past: &[f64],
    new: &[f64],
    b: usize,
    h: usize,
    p: usize,
    l: usize,
    d: usize,
) -> Vec<f64> {
    let mut out = Vec::with_capacity(past.len() + new.len());
    for bh in 0..b * h {
        out.extend_from_slice(&past[bh * p * d..(bh + 1) * p * d]);
        out.extend_from_slice(&new[bh * l * d..(bh + 1) * l * d]);
    }
    out
}

/// Scores, softmax and the weighted sum of values; returns Y `(b, hq, lq, dv)` and the
/// selected `qk_matmul_output` when `want_qk`.
pub fn attend(
    op: &Attention,
    (q, k, v): (&[f64], &[f64], &[f64]),
    bias: &Bias,
    d: [usize; 7],
    t1: DType,
    want_qk: bool,
) -> Result<(Vec<f64>, Option<Vec<f64>>)> {
    let [b, hq, lq, dk, hkv, total, dv] = d;
    let (r1, bf16_input) = (rounder("Attention", t1)?, t1 == DType::BF16);
    let (rp, stepwise) = match op.softmax_precision {
        Some(p) => (rounder("Attention", p)?, p == DType::BF16),
        None => (r1, bf16_input),
    };
    let scale = op
        .scale
        .map(|s| s as f64)
        .unwrap_or(1.0 / (dk as f64).sqrt());
    let sq = r1(scale.sqrt());
    let qs: Vec<f64> = q.iter().map(|&x| r1(x * sq)).collect();
    let ks: Vec<f64> = k.iter().map(|&x| r1(x * sq)).collect();
    let group = hq / hkv;
    let softcap = op.softcap as f64;
    let mut y = vec![0.0; checked_numel(&[b, hq, lq, dv])?];
    let mut qk_out = if want_qk {
        Some(vec![0.0; checked_numel(&[b, hq, lq, total])?])
    } else {
        None
    };
    let (mut row, mut brow) = (vec![0.0; total], vec![0.0; total]);
    for bb in 0..b {
        for h in 0..hq {
            let kvh = bb * hkv + h / group;
            for i in 0..lq {
                let qrow = &qs[((bb * hq + h) * lq + i) * dk..][..dk];
                let ri = ((bb * hq + h) * lq + i) * total;
                bias.row(bb, h, i, &mut brow);
                for (j, s) in row.iter_mut().enumerate() {
                    let krow = &ks[(kvh * total + j) * dk..][..dk];
                    let raw = r1(qrow.iter().zip(krow).map(|(a, c)| a * c).sum::<f64>());
                    let capped = if softcap > 0.0 {
                        r1(r1(r1(raw / softcap).tanh()) * softcap)
                    } else {
                        raw
                    };
                    *s = r1(capped + brow[j]);
                    if let Some(qk) = qk_out.as_mut() {
                        qk[ri + j] = match op.qk_matmul_output_mode {
                            0 => raw,
                            1 => capped,
                            _ => *s,
                        };
                    }
                }
                row.iter_mut().for_each(|s| *s = rp(*s));
                softmax_row(&mut row, rp, stepwise);
                if brow.iter().all(|&x| x == f64::NEG_INFINITY) {
                    row.fill(0.0);
                }
                row.iter_mut().for_each(|p| *p = r1(*p));
                if let Some(qk) = qk_out.as_mut().filter(|_| op.qk_matmul_output_mode == 3) {
                    qk[ri..ri + total].copy_from_slice(&row);
                }
                let yi = ((bb * hq + h) * lq + i) * dv;
                for (c, out) in y[yi..yi + dv].iter_mut().enumerate() {
                    let acc: f64 = row
                        .iter()
                        .enumerate()
                        .map(|(j, p)| p * v[(kvh * total + j) * dv + c])
                        .sum();
                    *out = r1(acc);
                }
            }
        }
    }
    Ok((y, qk_out))
}
