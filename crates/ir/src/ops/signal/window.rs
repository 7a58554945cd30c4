//! HannWindow, HammingWindow and BlackmanWindow (opset 17), table-driven: each returns
//! `w[n]` for `n` in `0..size` with `N = size` (`periodic`, default) or `size - 1` (symmetric).
//! Specs: <https://onnx.ai/onnx/operators/onnx__HannWindow.html>,
//! <https://onnx.ai/onnx/operators/onnx__HammingWindow.html>,
//! <https://onnx.ai/onnx/operators/onnx__BlackmanWindow.html>
//!
//! Input: `size` (int32/int64 scalar). Attributes: `periodic`, `output_datatype` (any numeric
//! type, default float). Output: `[size]`.
//! - Hann: `sin(pi n / N)^2`
//! - Hamming: `25/46 - (21/46) cos(2 pi n / N)`
//! - Blackman: `0.42 - 0.5 cos(2 pi n / N) + 0.08 cos(4 pi n / N)`
//!
//! Like the ONNX reference, Hann and Hamming compute in the output float type (so results
//! round as it does) while Blackman computes in f64 and converts at the end.

use super::common::scalar_i64;
use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::transformer::common::{rounder, Round};
use crate::registry::{BuildCtx, Registry};
use crate::{bail, Cost, Result, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{DType, Dim, Tensor};
use std::f64::consts::PI;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowKind {
    Hann,
    Hamming,
    Blackman,
}

#[derive(Clone, Debug)]
pub struct Window {
    pub kind: WindowKind,
    pub periodic: bool,
    pub output_datatype: DType,
}

/// The `output_datatype` attribute of the window ops and MelWeightMatrix: a numeric type.
pub fn output_dtype(op: &str, ctx: &mut BuildCtx) -> Result<DType> {
    let code = ctx.attrs.int_or("output_datatype", 1)?;
    match i32::try_from(code).ok().and_then(DType::from_onnx_code) {
        Some(d) if (d.is_float() || d.is_int()) && !d.is_encoded() => Ok(d),
        _ => bail!("{op}: output_datatype {code} is not a plain numeric type"),
    }
}

fn build(ctx: &mut BuildCtx, kind: WindowKind) -> Result<Box<dyn Op>> {
    let name = Window {
        kind,
        periodic: true,
        output_datatype: DType::F32,
    }
    .name();
    Ok(Box::new(Window {
        kind,
        periodic: ctx.attrs.int_or("periodic", 1)? != 0,
        output_datatype: output_dtype(name, ctx)?,
    }))
}

pub fn register(r: &mut Registry) {
    r.register("", "HannWindow", |c| build(c, WindowKind::Hann));
    r.register("", "HammingWindow", |c| build(c, WindowKind::Hamming));
    r.register("", "BlackmanWindow", |c| build(c, WindowKind::Blackman));
}

fn exact(x: f64) -> f64 {
    x
}

impl Window {
    fn name(&self) -> &'static str {
        match self.kind {
            WindowKind::Hann => "HannWindow",
            WindowKind::Hamming => "HammingWindow",
            WindowKind::Blackman => "BlackmanWindow",
        }
    }

    /// The window values, rounding every step with `r`.
    fn values(&self, size: usize, r: Round) -> Vec<f64> {
        let n1 = if self.periodic {
            size as f64
        } else {
            size as f64 - 1.0
        };
        (0..size)
            .map(|n| {
                let n = n as f64;
                match self.kind {
                    WindowKind::Hann => {
                        let s = r(r(r(n * r(PI)) / n1).sin());
                        r(s * s)
                    }
                    WindowKind::Hamming => {
                        let alpha = 25.0 / 46.0;
                        let c = r(r(r(r(n * r(PI)) * 2.0) / n1).cos());
                        r(r(alpha) - r(c * r(1.0 - alpha)))
                    }
                    WindowKind::Blackman => {
                        let y = (n * (PI * 2.0) / n1).cos() * -0.5;
                        let y = y + (n * (PI * 4.0) / n1).cos() * 0.08;
                        y + 0.42
                    }
                }
            })
            .collect()
    }
}

impl Op for Window {
    fn op_type(&self) -> &str {
        self.name()
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let size = ctx
            .konst(0)
            .map(|t| scalar_i64(self.name(), "size", t))
            .transpose()?;
        let dim = match size {
            Some(s) if s >= 0 => Dim::Known(s as usize),
            Some(s) => bail!("{}: size must be >= 0, got {s}", self.name()),
            None => Dim::Unknown,
        };
        Ok(vec![ValueType::tensor(self.output_datatype, vec![dim])])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let size = scalar_i64(self.name(), "size", inputs.tensor(0)?)?;
        if size < 0 {
            bail!("{}: size must be >= 0, got {size}", self.name());
        }
        let size = checked_numel(&[size as usize])?;
        let dt = self.output_datatype;
        let r = if dt.is_float() && self.kind != WindowKind::Blackman {
            rounder(self.name(), dt)?
        } else {
            exact
        };
        let v = self.values(size, r);
        Ok(vec![Tensor::from_f64s(dt, vec![size], &v)?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.elementwise(if self.kind == WindowKind::Blackman {
            8
        } else {
            5
        })
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let dt = self.output_datatype;
        AttrList::default()
            .opt_int("periodic", if self.periodic { None } else { Some(0) })
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
    use crate::ops::testing::{assert_close, eval1};

    fn win(kind: WindowKind, periodic: bool) -> Window {
        Window {
            kind,
            periodic,
            output_datatype: DType::F32,
        }
    }

    fn run(w: Window, size: i64) -> Vec<f32> {
        eval1(&w, &[Some(Tensor::scalar(size))])
            .unwrap()
            .to_vec::<f32>()
            .unwrap()
    }

    /// Values from numpy/torch: hann(4, periodic) = [0, 0.5, 1, 0.5],
    /// hamming(3, symmetric) = [0.0869565, 1, 0.0869565], blackman(3, symmetric) = [0, 1, 0].
    #[test]
    fn known_windows() {
        assert_close(
            &run(win(WindowKind::Hann, true), 4),
            &[0.0, 0.5, 1.0, 0.5],
            1e-6,
            1e-6,
        );
        assert_close(
            &run(win(WindowKind::Hamming, false), 3),
            &[0.0869565, 1.0, 0.0869565],
            1e-6,
            1e-6,
        );
        assert_close(
            &run(win(WindowKind::Blackman, false), 3),
            &[0.0, 1.0, 0.0],
            1e-6,
            1e-6,
        );
    }

    #[test]
    fn negative_size_is_an_error() {
        assert!(eval1(&win(WindowKind::Hann, true), &[Some(Tensor::scalar(-1i64))]).is_err());
    }
}
