//! STFT (opset 17): short-time Fourier transform of a batch of real or complex signals.
//! Spec: <https://onnx.ai/onnx/operators/onnx__STFT.html>
//!
//! Inputs: `signal` `[batch, length, 1]` (real) or `[batch, length, 2]` (complex);
//! `frame_step` (scalar); optional `window` `[window_len]`; optional `frame_length` (scalar,
//! the DFT size; defaults to the window length, else the signal length).
//! Attribute: `onesided` (default 1): keep bins `0..=frame_length/2`.
//! Output: `[batch, frames, bins, 2]` with `frames = (length - frame_length) / frame_step + 1`.
//! Each frame is `window_len` samples from `f * frame_step` (zero-padded at the end of the
//! signal), multiplied by the window (ones when absent) and transformed with a
//! `frame_length`-point DFT, as in onnx/reference/ops/op_stft.py.

use super::common::{scalar_i64, Twiddles};
use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::transformer::common::rounder;
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{Dim, Tensor};

#[derive(Clone, Debug)]
pub struct Stft {
    pub onesided: bool,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(Stft {
        onesided: ctx.attrs.int_or("onesided", 1)? != 0,
    }))
}

/// Frame count and bins from the signal length, step and frame length.
fn geometry(len: usize, step: i64, frame_len: i64, onesided: bool) -> Result<(usize, usize)> {
    if step <= 0 || frame_len <= 0 {
        bail!("STFT: frame_step ({step}) and frame_length ({frame_len}) must be positive");
    }
    let (step, fl) = (step as usize, frame_len as usize);
    if fl > len {
        bail!("STFT: frame_length {fl} is longer than the signal ({len} samples)");
    }
    Ok((
        (len - fl) / step + 1,
        if onesided { fl / 2 + 1 } else { fl },
    ))
}

impl Op for Stft {
    fn op_type(&self) -> &str {
        "STFT"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        if let Some(r) = x.rank().filter(|&r| r != 3) {
            bail!("STFT: signal must be 3-D [batch, length, 1 or 2], got rank {r}");
        }
        let step = ctx
            .konst(1)
            .map(|t| scalar_i64("STFT", "frame_step", t))
            .transpose()?;
        let frame_len = match (ctx.konst(3), ctx.tensor(2).shape.as_deref()) {
            (Some(t), _) => Some(scalar_i64("STFT", "frame_length", t)?),
            (None, Some([Dim::Known(w)])) if ctx.input(3) == &ValueType::Unknown => Some(*w as i64),
            _ => None,
        };
        let shape = x.shape.as_ref().map(|s| {
            let dims = match (&s[1], step, frame_len) {
                (Dim::Known(len), Some(st), Some(fl)) => geometry(*len, st, fl, self.onesided).ok(),
                _ => None,
            };
            let (frames, bins) = match dims {
                Some((f, b)) => (Dim::Known(f), Dim::Known(b)),
                None => (Dim::Unknown, Dim::Unknown),
            };
            vec![s[0].clone(), frames, bins, Dim::Known(2)]
        });
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: x.dtype,
            shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let r = rounder("STFT", x.dtype())?;
        let &[batch, len, c] = x.shape() else {
            bail!(
                "STFT: signal must be [batch, length, 1 or 2], got {:?}",
                x.shape()
            );
        };
        if c != 1 && c != 2 {
            bail!(
                "STFT: signal {:?} must end in 1 (real) or 2 (complex)",
                x.shape()
            );
        }
        let step = scalar_i64("STFT", "frame_step", inputs.tensor(1)?)?;
        let window = inputs.opt_tensor(2)?;
        let window = match window {
            Some(w) if w.rank() != 1 => bail!("STFT: window must be 1-D, got {:?}", w.shape()),
            Some(w) => Some(w.to_f64_vec()?),
            None => None,
        };
        let frame_len = match (inputs.opt_tensor(3)?, &window) {
            (Some(t), _) => scalar_i64("STFT", "frame_length", t)?,
            (None, Some(w)) => w.len() as i64,
            (None, None) => len as i64,
        };
        let (frames, bins) = geometry(len, step, frame_len, self.onesided)?;
        let window = window.unwrap_or_else(|| vec![1.0; frame_len as usize]);
        let wl = window.len();
        let xv = x.to_f64_vec()?;
        let tw = Twiddles::new(frame_len as usize);
        let mut out = Vec::with_capacity(checked_numel(&[batch, frames, bins, 2])?);
        let (mut re, mut im) = (vec![0.0; wl], vec![0.0; wl]);
        for b in 0..batch {
            for f in 0..frames {
                let start = f * step as usize;
                for (t, w) in window.iter().enumerate() {
                    let s = start + t;
                    let (xr, xi) = if s >= len {
                        (0.0, 0.0)
                    } else if c == 2 {
                        (xv[(b * len + s) * 2], xv[(b * len + s) * 2 + 1])
                    } else {
                        (xv[b * len + s], 0.0)
                    };
                    (re[t], im[t]) = (r(xr * w), r(xi * w));
                }
                let (yr, yi) = tw.dft(&re, &im, bins, false);
                out.extend(yr.iter().zip(&yi).flat_map(|(a, b)| [*a, *b]));
            }
        }
        Ok(vec![Tensor::from_f64s(
            x.dtype(),
            vec![batch, frames, bins, 2],
            &out,
        )?
        .into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        // One FFT per frame: about 5 n log2(n) flops for n output values.
        let n = ctx
            .output_shape(0)
            .and_then(|s| s.get(2).copied())
            .unwrap_or(1)
            .max(1) as u64;
        let log = (64 - n.leading_zeros()) as u64;
        ctx.elementwise(5 * log)
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .opt_int("onesided", if self.onesided { None } else { Some(0) })
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval1};

    /// Signal [1, 2, 3, 4, 5], frames of 2 every 2 samples: [1, 2], [3, 4]; the 2-point DFT of
    /// [a, b] is [a + b, a - b] (hand-checked); onesided keeps both bins (2 / 2 + 1 = 2).
    #[test]
    fn frames_and_two_point_dfts() {
        let x = Tensor::from_vec(vec![1, 5, 1], vec![1f32, 2.0, 3.0, 4.0, 5.0]).unwrap();
        let ins = [
            Some(x),
            Some(Tensor::scalar(2i64)),
            None,
            Some(Tensor::scalar(2i64)),
        ];
        let y = eval1(&Stft { onesided: true }, &ins).unwrap();
        assert_eq!(y.shape(), &[1, 2, 2, 2]);
        assert_close(
            &y.to_vec::<f32>().unwrap(),
            &[3.0, 0.0, -1.0, 0.0, 7.0, 0.0, -1.0, 0.0],
            1e-6,
            0.0,
        );
    }

    #[test]
    fn bad_steps_are_errors() {
        let x = Tensor::from_vec(vec![1, 4, 1], vec![0f32; 4]).unwrap();
        assert!(eval1(
            &Stft { onesided: true },
            &[Some(x.clone()), Some(Tensor::scalar(0i64))]
        )
        .is_err());
        let long = Some(Tensor::scalar(8i64));
        assert!(eval1(
            &Stft { onesided: true },
            &[Some(x), Some(Tensor::scalar(1i64)), None, long]
        )
        .is_err());
    }
}
