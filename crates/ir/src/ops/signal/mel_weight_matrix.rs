//! MelWeightMatrix (opset 17): triangular mel filter bank mapping the `dft_length / 2 + 1`
//! one-sided spectrogram bins to `num_mel_bins` mel bands.
//! Spec: <https://onnx.ai/onnx/operators/onnx__MelWeightMatrix.html>
//!
//! Inputs (scalars): `num_mel_bins`, `dft_length`, `sample_rate` (int32/int64),
//! `lower_edge_hertz`, `upper_edge_hertz` (float). Attribute: `output_datatype` (default float).
//! Output: `[dft_length / 2 + 1, num_mel_bins]`.
//!
//! Band edges are `num_mel_bins + 2` points evenly spaced on the mel scale
//! `mel(f) = 2595 log10(1 + f / 700)` (spacing divides by `num_mel_bins + 2`, as the ONNX
//! reference does), mapped to bins `floor((dft_length + 1) * f / sample_rate)`; band `i` rises
//! from edge `i` to `i + 1` and falls to `i + 2`. The edge mel values round through the input
//! float type first, as in onnx/reference/ops/op_mel_weight_matrix.py.

use super::common::{scalar_f64, scalar_i64};
use super::window::output_dtype;
use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::transformer::common::rounder;
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{DType, Dim, Tensor};
use std::f64::consts::LN_10;

#[derive(Clone, Debug)]
pub struct MelWeightMatrix {
    pub output_datatype: DType,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(MelWeightMatrix {
        output_datatype: output_dtype("MelWeightMatrix", ctx)?,
    }))
}

fn sizes(bins: i64, dft_length: i64) -> Result<(usize, usize)> {
    if bins < 0 || dft_length < 0 {
        bail!("MelWeightMatrix: num_mel_bins ({bins}) and dft_length ({dft_length}) must be >= 0");
    }
    Ok((dft_length as usize / 2 + 1, bins as usize))
}

impl MelWeightMatrix {
    fn run(&self, inputs: &Inputs) -> Result<Tensor> {
        let op = "MelWeightMatrix";
        let bins = scalar_i64(op, "num_mel_bins", inputs.tensor(0)?)?;
        let dft_length = scalar_i64(op, "dft_length", inputs.tensor(1)?)?;
        let rate = scalar_i64(op, "sample_rate", inputs.tensor(2)?)?;
        let (lo_t, hi_t) = (inputs.tensor(3)?, inputs.tensor(4)?);
        let r = rounder(op, lo_t.dtype())?;
        let (lo, hi) = (
            scalar_f64(op, "lower_edge_hertz", lo_t)?,
            scalar_f64(op, "upper_edge_hertz", hi_t)?,
        );
        let (rows, cols) = sizes(bins, dft_length)?;
        if rate <= 0 {
            bail!("MelWeightMatrix: sample_rate must be positive, got {rate}");
        }
        let mel = |f: f64| r(2595.0 * r(r(f / 700.0).ln_1p())) / LN_10;
        let (lo_mel, hi_mel) = (mel(lo), mel(hi));
        let step = (hi_mel - lo_mel) / (cols + 2) as f64;
        let edges: Vec<i64> = (0..cols + 2)
            .map(|i| {
                let hz = 700.0 * ((i as f64 * step + lo_mel) / 2595.0 * LN_10).exp_m1();
                (((dft_length + 1) as f64 * hz) / rate as f64).floor() as i64
            })
            .collect();
        let mut out = vec![0.0; checked_numel(&[rows, cols])?];
        let mut set = |j: i64, i: usize, v: f64| -> Result<()> {
            if j < 0 || j as usize >= rows {
                bail!("MelWeightMatrix: band {i} reaches bin {j}, outside the {rows} spectrogram bins");
            }
            out[j as usize * cols + i] = v;
            Ok(())
        };
        for i in 0..cols {
            let (left, center, right) = (edges[i], edges[i + 1], edges[i + 2]);
            if center == left {
                set(center, i, 1.0)?;
            } else {
                for j in left..=center {
                    set(j, i, (j - left) as f64 / (center - left) as f64)?;
                }
            }
            for j in center..right {
                set(j, i, (right - j) as f64 / (right - center) as f64)?;
            }
        }
        Ok(Tensor::from_f64s(
            self.output_datatype,
            vec![rows, cols],
            &out,
        )?)
    }
}

impl Op for MelWeightMatrix {
    fn op_type(&self) -> &str {
        "MelWeightMatrix"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let known = |i: usize, name: &str| {
            ctx.konst(i)
                .map(|t| scalar_i64("MelWeightMatrix", name, t))
                .transpose()
        };
        let shape = match (known(0, "num_mel_bins")?, known(1, "dft_length")?) {
            (Some(b), Some(n)) => {
                let (rows, cols) = sizes(b, n)?;
                vec![Dim::Known(rows), Dim::Known(cols)]
            }
            (b, _) => vec![
                Dim::Unknown,
                b.map_or(Dim::Unknown, |b| Dim::Known(b.max(0) as usize)),
            ],
        };
        Ok(vec![ValueType::tensor(self.output_datatype, shape)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        Ok(vec![self.run(inputs)?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.elementwise(1)
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let dt = self.output_datatype;
        AttrList::default()
            .opt_int(
                "output_datatype",
                if dt != DType::F32 {
                    Some(dt.onnx_code() as i64)
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
    use crate::ops::testing::eval1;

    fn run(bins: i64, n: i64, rate: i64, lo: f32, hi: f32) -> crate::Result<Tensor> {
        let op = MelWeightMatrix {
            output_datatype: DType::F32,
        };
        let s = |v: i64| Some(Tensor::scalar(v));
        eval1(
            &op,
            &[
                s(bins),
                s(n),
                s(rate),
                Some(Tensor::scalar(lo)),
                Some(Tensor::scalar(hi)),
            ],
        )
    }

    /// The ONNX backend test case (8 bands, dft 16, 8192 Hz, 0..4096 Hz): every band collapses
    /// to a single bin (band 0 at bin 0, band 7 at bin 5); values from onnx.reference.
    #[test]
    fn backend_case_first_band() {
        let y = run(8, 16, 8192, 0.0, 4096.0).unwrap();
        assert_eq!(y.shape(), &[9, 8]);
        let v = y.to_vec::<f32>().unwrap();
        let col0: Vec<f32> = (0..9).map(|j| v[j * 8]).collect();
        assert_eq!(col0, vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        let col7: Vec<f32> = (0..9).map(|j| v[j * 8 + 7]).collect();
        assert_eq!(col7, vec![0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
        assert_eq!(v.iter().sum::<f32>(), 8.0);
    }

    #[test]
    fn edges_past_the_spectrum_are_errors() {
        assert!(run(4, 16, 8192, 0.0, 40000.0).is_err());
        assert!(run(4, 16, 0, 0.0, 100.0).is_err());
    }
}
