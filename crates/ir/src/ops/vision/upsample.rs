//! Upsample (deprecated in opset 10 in favour of Resize): nearest or linear upsampling.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Upsample.html>
//!
//! Attributes: `mode` (nearest | linear, default nearest; "bilinear" accepted as linear),
//! `scales` (floats, opset 7 only). Inputs: `X`, `scales` (1-D float, opset 9+).
//! Output: `Y`, dims `floor(input_dim * scale)`.
//! The spec leaves the sampling grid implicit; like onnxruntime (and Resize-10) it maps output
//! coordinates asymmetrically (`x / scale`), nearest flooring them, linear clamping at the edge.

use super::interp::{Coord, Interp, Mode, Nearest};
use super::resample::{resample, Geometry};
use super::resize::parse_mode;
use crate::attr::AttrList;
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::Dim;

#[derive(Clone, Debug)]
pub struct Upsample {
    pub mode: String,
    /// The opset-7 `scales` attribute; later opsets read input 1.
    pub scales: Option<Vec<f32>>,
    interp: Interp,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let mode = ctx.attrs.string_or("mode", "nearest")?;
    let scales = if ctx.opset < 9 {
        Some(ctx.attrs.floats("scales")?.unwrap_or_default())
    } else {
        None
    };
    let interp = Interp {
        mode: parse_mode("Upsample", &mode, false)?,
        coord: Coord::Asymmetric,
        nearest: Nearest::Simple,
        cubic_a: -0.75,
        exclude_outside: false,
        extrapolation: 0.0,
        antialias: false,
    };
    Ok(Box::new(Upsample {
        mode,
        scales,
        interp,
    }))
}

fn geometry(in_shape: &[usize], scales: &[f64]) -> Result<Geometry> {
    if scales.len() != in_shape.len() {
        bail!(
            "Upsample: {} scales for input shape {in_shape:?}",
            scales.len()
        );
    }
    if scales.iter().any(|&s| !(s > 0.0 && s.is_finite())) {
        bail!("Upsample: scales must be positive, got {scales:?}");
    }
    let r = in_shape.len();
    Ok(Geometry {
        out_shape: in_shape
            .iter()
            .zip(scales)
            .map(|(&d, &s)| (d as f64 * s).floor() as usize)
            .collect(),
        scales: scales.to_vec(),
        roi: vec![(0.0, 1.0); r],
        order: (0..r).collect(),
    })
}

impl Op for Upsample {
    fn op_type(&self) -> &str {
        "Upsample"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let scales: Option<Vec<f64>> = match &self.scales {
            Some(s) => Some(s.iter().map(|&v| v as f64).collect()),
            None => ctx.konst(1).map(|t| t.to_f64_vec()).transpose()?,
        };
        let shape = x.shape.as_ref().map(|s| {
            s.iter()
                .enumerate()
                .map(
                    |(i, d)| match (d, scales.as_ref().and_then(|sc| sc.get(i))) {
                        (d, Some(&1.0)) => d.clone(),
                        (Dim::Known(n), Some(&f)) => Dim::Known((*n as f64 * f).floor() as usize),
                        _ => Dim::Unknown,
                    },
                )
                .collect()
        });
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: x.dtype,
            shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let scales: Vec<f64> = match &self.scales {
            Some(s) => s.iter().map(|&v| v as f64).collect(),
            None => inputs.tensor(1)?.to_f64_vec()?,
        };
        let geo = geometry(x.shape(), &scales)?;
        Ok(vec![resample(x, &self.interp, &geo, "Upsample")?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        match self.interp.mode {
            Mode::Nearest => ctx.movement(),
            _ => ctx.elementwise(8),
        }
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let a = AttrList::default().string("mode", &self.mode);
        match &self.scales {
            Some(s) => a.floats("scales", s).build(),
            None => a.build(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval1};
    use edgeopt_tensor::Tensor;

    fn op(mode: &str) -> Upsample {
        let mut a = crate::Attrs::default();
        a.insert("mode", Attribute::String(mode.as_bytes().to_vec()));
        let mut ctx = BuildCtx {
            opset: 9,
            attrs: &mut a,
            num_inputs: 2,
            num_outputs: 1,
        };
        build(&mut ctx)
            .unwrap()
            .downcast_ref::<Upsample>()
            .unwrap()
            .clone()
    }

    #[test]
    fn nearest_spec_example() {
        // ONNX test_upsample_nearest: [[1, 2], [3, 4]] with scales [1, 1, 2, 3].
        let x = Tensor::from_vec(vec![1, 1, 2, 2], vec![1f32, 2., 3., 4.]).unwrap();
        let y = eval1(
            &op("nearest"),
            &[Some(x), Some(Tensor::vec1(vec![1f32, 1., 2., 3.]))],
        )
        .unwrap();
        assert_eq!(y.shape(), &[1, 1, 4, 6]);
        let row = [1., 1., 1., 2., 2., 2.];
        let row2 = [3., 3., 3., 4., 4., 4.];
        let want: Vec<f32> = [row, row, row2, row2].concat();
        assert_eq!(y.as_slice::<f32>().unwrap(), want.as_slice());
    }

    #[test]
    fn linear_is_asymmetric_and_clamped() {
        // onnxruntime Upsample-9 linear: [1, 3] x2 -> [1, 2, 3, 3].
        let x = Tensor::from_vec(vec![1, 2], vec![1f32, 3.]).unwrap();
        let y = eval1(
            &op("linear"),
            &[Some(x), Some(Tensor::vec1(vec![1f32, 2.]))],
        )
        .unwrap();
        assert_close(y.as_slice::<f32>().unwrap(), &[1., 2., 3., 3.], 1e-6, 0.0);
    }
}
