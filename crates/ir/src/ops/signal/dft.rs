//! DFT: discrete Fourier transform along one axis of a real or complex signal.
//! Spec: <https://onnx.ai/onnx/operators/onnx__DFT.html>
//!
//! Input: `input` `[signal dims..., 1]` (real) or `[signal dims..., 2]` (complex, real and
//! imaginary parts); optional `dft_length` (scalar: truncate or zero-pad the axis to it).
//! Opset 17: `axis` attribute (default 1). Opset 20: `axis` is the optional scalar input 2
//! (default -2); it may not name the trailing complex dimension.
//! Attributes: `inverse` (scaled by `1/n`), `onesided` (forward: keep bins `0..=n/2`;
//! inverse: the input is a one-sided spectrum and the output is real `[..., 1]`, with
//! `dft_length` defaulting to `2 * (len - 1)`).
//! Output: the transform, axis length `n` (or `n/2 + 1` for a one-sided forward transform).

use super::common::{scalar_i64, Twiddles};
use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{Dim, Tensor};

#[derive(Clone, Debug)]
pub struct Dft {
    pub inverse: bool,
    pub onesided: bool,
    /// The opset-17 `axis` attribute; `None` from opset 20, where the axis is an input.
    pub axis_attr: Option<i64>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let axis_attr = if ctx.opset < 20 {
        Some(ctx.attrs.int_or("axis", 1)?)
    } else {
        if ctx.attrs.has("axis") {
            bail!("DFT: axis is an input since opset 20, not an attribute");
        }
        None
    };
    Ok(Box::new(Dft {
        inverse: ctx.attrs.int_or("inverse", 0)? != 0,
        onesided: ctx.attrs.int_or("onesided", 0)? != 0,
        axis_attr,
    }))
}

/// The transform's geometry: normalized axis, its input length, the DFT length and the
/// output length along the axis.
struct Plan {
    axis: usize,
    n: usize,
    out_len: usize,
    /// 2 for complex output, 1 for the real inverse of a one-sided spectrum.
    out_c: usize,
}

impl Dft {
    fn plan(
        &self,
        rank: usize,
        axis: i64,
        axis_len: usize,
        dft_length: Option<i64>,
    ) -> Result<Plan> {
        let r = rank as i64;
        let a = if axis < 0 { axis + r } else { axis };
        if rank < 2 || a < 0 || a > r - 2 {
            bail!("DFT: axis {axis} is out of range for rank {rank} (the last dimension holds the complex parts)");
        }
        let irfft = self.inverse && self.onesided;
        let n = match dft_length {
            Some(n) if n >= 1 => n as usize,
            Some(n) => bail!("DFT: dft_length must be positive, got {n}"),
            None if irfft => 2 * axis_len.saturating_sub(1),
            None => axis_len,
        };
        if n == 0 {
            bail!("DFT: the transform length is 0 (axis length {axis_len})");
        }
        let out_len = if self.onesided && !self.inverse {
            n / 2 + 1
        } else {
            n
        };
        Ok(Plan {
            axis: a as usize,
            n,
            out_len,
            out_c: if irfft { 1 } else { 2 },
        })
    }

    fn axis_input(&self, t: Option<&Tensor>) -> Result<i64> {
        match (self.axis_attr, t) {
            (Some(a), _) => Ok(a),
            (None, Some(t)) => scalar_i64("DFT", "axis", t),
            (None, None) => Ok(-2),
        }
    }

    /// One line of the transform: `(re, im)` in, `(re, im)` out (`im` unused for irfft).
    fn line(&self, tw: &Twiddles, re: &[f64], im: &[f64], p: &Plan) -> (Vec<f64>, Vec<f64>) {
        let n = p.n;
        if !self.inverse {
            return tw.dft(re, im, p.out_len, false);
        }
        let (mut fr, mut fi) = if self.onesided {
            // Rebuild the Hermitian spectrum from bins 0..=n/2; the imaginary parts of the DC
            // and Nyquist bins cannot contribute to a real signal and are dropped, like numpy.
            let (mut fr, mut fi) = (vec![0.0; n], vec![0.0; n]);
            for k in 0..=n / 2 {
                if k < re.len() {
                    (fr[k], fi[k]) = (re[k], im[k]);
                }
            }
            for k in n / 2 + 1..n {
                (fr[k], fi[k]) = (fr[n - k], -fi[n - k]);
            }
            fi[0] = 0.0;
            if n & 1 == 0 {
                fi[n / 2] = 0.0;
            }
            tw.dft(&fr, &fi, n, true)
        } else {
            tw.dft(re, im, n, true)
        };
        fr.iter_mut()
            .chain(fi.iter_mut())
            .for_each(|v| *v /= n as f64);
        (fr, fi)
    }
}

impl Op for Dft {
    fn op_type(&self) -> &str {
        "DFT"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let shape = (|| -> Result<Option<Vec<Dim>>> {
            let Some(s) = &x.shape else { return Ok(None) };
            let len = ctx
                .konst(1)
                .map(|t| scalar_i64("DFT", "dft_length", t))
                .transpose()?;
            let axis = match (self.axis_attr, ctx.konst(2), ctx.input(2)) {
                (None, None, ValueType::Tensor(_)) => return Ok(None),
                (_, k, _) => self.axis_input(k)?,
            };
            let r = s.len() as i64;
            let a = if axis < 0 { axis + r } else { axis };
            let known = s.get(a.max(0) as usize).and_then(Dim::known);
            // An unknown axis length still validates the rest of the plan (2 is a dummy).
            let p = self.plan(s.len(), axis, known.unwrap_or(2), len)?;
            let mut out = s.clone();
            out[p.axis] = if len.is_some() || known.is_some() {
                Dim::Known(p.out_len)
            } else {
                Dim::Unknown
            };
            out[s.len() - 1] = Dim::Known(p.out_c);
            Ok(Some(out))
        })()?;
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: x.dtype,
            shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        if !x.dtype().is_float() {
            bail!("DFT: input must be a float tensor, got {}", x.dtype());
        }
        let shape = x.shape();
        let c = shape.last().copied().unwrap_or(0);
        if c != 1 && c != 2 {
            bail!("DFT: the last dimension of input {shape:?} must be 1 (real) or 2 (complex)");
        }
        let len = inputs
            .opt_tensor(1)?
            .map(|t| scalar_i64("DFT", "dft_length", t))
            .transpose()?;
        let axis = self.axis_input(if self.axis_attr.is_none() {
            inputs.opt_tensor(2)?
        } else {
            None
        })?;
        let r = shape.len();
        let a = if axis < 0 { axis + r as i64 } else { axis };
        let axis_len = shape
            .get(a.clamp(0, r as i64 - 1) as usize)
            .copied()
            .unwrap_or(0);
        let p = self.plan(r, axis, axis_len, len)?;
        let outer: usize = shape[..p.axis].iter().product();
        let inner: usize = shape[p.axis + 1..r - 1].iter().product();
        let mut out_shape = shape.to_vec();
        (out_shape[p.axis], out_shape[r - 1]) = (p.out_len, p.out_c);
        let mut out = vec![0.0; checked_numel(&out_shape)?];
        let xv = x.to_f64_vec()?;
        let tw = Twiddles::new(p.n);
        let (mut re, mut im) = (vec![0.0; axis_len], vec![0.0; axis_len]);
        for o in 0..outer {
            for i in 0..inner {
                for t in 0..axis_len {
                    let base = ((o * axis_len + t) * inner + i) * c;
                    (re[t], im[t]) = (xv[base], if c == 2 { xv[base + 1] } else { 0.0 });
                }
                let (yr, yi) = self.line(&tw, &re, &im, &p);
                for k in 0..p.out_len {
                    let base = ((o * p.out_len + k) * inner + i) * p.out_c;
                    out[base] = yr[k];
                    if p.out_c == 2 {
                        out[base + 1] = yi[k];
                    }
                }
            }
        }
        Ok(vec![Tensor::from_f64s(x.dtype(), out_shape, &out)?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        // An FFT costs about 5 n log2(n) flops per line; lines * n is the output size.
        let n = ctx.output_elems(0).max(1);
        let log = (64 - n.leading_zeros()) as u64;
        ctx.elementwise(5 * log)
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let flag = |b: bool| if b { Some(1) } else { None };
        AttrList::default()
            .opt_int("inverse", flag(self.inverse))
            .opt_int("onesided", flag(self.onesided))
            .opt_int("axis", self.axis_attr.filter(|&a| a != 1))
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval1};

    fn dft(inverse: bool, onesided: bool) -> Dft {
        Dft {
            inverse,
            onesided,
            axis_attr: None,
        }
    }

    /// rfft of [1, 2, 3, 4] (numpy.fft.rfft): [10, -2+2j, -2]; irfft brings it back.
    #[test]
    fn rfft_and_irfft() {
        let x = Tensor::from_vec(vec![1, 4, 1], vec![1f32, 2.0, 3.0, 4.0]).unwrap();
        let y = eval1(&dft(false, true), &[Some(x), None, None]).unwrap();
        assert_eq!(y.shape(), &[1, 3, 2]);
        assert_close(
            &y.to_vec::<f32>().unwrap(),
            &[10.0, 0.0, -2.0, 2.0, -2.0, 0.0],
            1e-5,
            0.0,
        );
        let back = eval1(&dft(true, true), &[Some(y), None, None]).unwrap();
        assert_eq!(back.shape(), &[1, 4, 1]);
        assert_close(
            &back.to_vec::<f32>().unwrap(),
            &[1.0, 2.0, 3.0, 4.0],
            1e-5,
            0.0,
        );
    }

    /// Opset-17 axis attribute on the other signal axis, with zero padding to dft_length 2.
    #[test]
    fn axis_attribute_and_padding() {
        let op = Dft {
            inverse: false,
            onesided: false,
            axis_attr: Some(2),
        };
        let x = Tensor::from_vec(vec![1, 1, 1, 2], vec![3f32, 1.0]).unwrap();
        let n = Tensor::scalar(2i64);
        let y = eval1(&op, &[Some(x), Some(n)]).unwrap();
        assert_eq!(y.shape(), &[1, 1, 2, 2]);
        assert_close(
            &y.to_vec::<f32>().unwrap(),
            &[3.0, 1.0, 3.0, 1.0],
            1e-6,
            0.0,
        );
    }

    #[test]
    fn bad_axis_and_length_are_errors() {
        let x = Tensor::from_vec(vec![1, 4, 1], vec![0f32; 4]).unwrap();
        assert!(eval1(
            &dft(false, false),
            &[Some(x.clone()), None, Some(Tensor::scalar(-1i64))]
        )
        .is_err());
        assert!(eval1(&dft(false, false), &[Some(x), Some(Tensor::scalar(0i64))]).is_err());
    }
}
