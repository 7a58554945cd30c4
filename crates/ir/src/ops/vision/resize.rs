//! Resize: nearest, (multi-)linear or cubic resampling of any subset of axes.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Resize.html>
//!
//! Attributes: `mode` (nearest | linear | cubic, default nearest), `coordinate_transformation_mode`
//! (half_pixel default; half_pixel_symmetric, pytorch_half_pixel, align_corners, asymmetric,
//! tf_half_pixel_for_nn (opset 11 only), tf_crop_and_resize), `nearest_mode`
//! (round_prefer_floor default; round_prefer_ceil, floor, ceil), `cubic_coeff_a` (-0.75),
//! `exclude_outside` (0), `extrapolation_value` (0), and from opset 18 `antialias` (0), `axes`,
//! `keep_aspect_ratio_policy` (stretch | not_larger | not_smaller).
//! Inputs: `X`; opset 10: `scales`; opset 11+: `roi`, `scales`, `sizes` (optional from 13; an
//! empty tensor counts as absent; exactly one of scales/sizes). Output: `Y`, dtype of X.
//! Opset 10 has no coordinate mode: like onnxruntime it uses asymmetric coordinates, and nearest
//! rounds up when downsampling and down otherwise.
//! Semantics follow the ONNX reference implementation: per-axis filters computed in f64 (so
//! exact ties such as `1.5 / 0.6f32` resolve as in the reference; onnxruntime computes in f32);
//! integer outputs are rounded half to even and saturated; nearest mode copies elements exactly.
//! Where the reference departs from the spec text we follow the spec, as onnxruntime does:
//! pytorch_half_pixel maps a single output to 0, and tf_crop_and_resize maps coordinates with the
//! integer output length (these only differ from the reference when resizing by scales).

use super::interp::{Coord, Interp, Mode, Nearest};
use super::resample::{resample, Geometry};
use crate::attr::AttrList;
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::normalize_axis;
use edgeopt_tensor::{Dim, Tensor};

#[derive(Clone, Debug)]
pub struct Resize {
    pub mode: String,
    pub coordinate_transformation_mode: String,
    pub nearest_mode: String,
    pub cubic_coeff_a: f32,
    pub exclude_outside: bool,
    pub extrapolation_value: f32,
    pub antialias: bool,
    pub axes: Option<Vec<i64>>,
    pub keep_aspect_ratio_policy: String,
    /// Resize-10: inputs (X, scales) and the legacy coordinate rules.
    pub legacy: bool,
    interp: Interp,
}

pub fn parse_mode(op: &str, s: &str, allow_cubic: bool) -> Result<Mode> {
    Ok(match s {
        "nearest" => Mode::Nearest,
        "linear" | "bilinear" => Mode::Linear,
        "cubic" if allow_cubic => Mode::Cubic,
        _ => bail!("{op}: unsupported mode '{s}'"),
    })
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let a = &mut *ctx.attrs;
    let legacy = ctx.opset < 11;
    let mut r = Resize {
        mode: a.string_or("mode", "nearest")?,
        coordinate_transformation_mode: a
            .string_or("coordinate_transformation_mode", "half_pixel")?,
        nearest_mode: a.string_or("nearest_mode", "round_prefer_floor")?,
        cubic_coeff_a: a.float_or("cubic_coeff_a", -0.75)?,
        exclude_outside: a.int_or("exclude_outside", 0)? != 0,
        extrapolation_value: a.float_or("extrapolation_value", 0.0)?,
        antialias: a.int_or("antialias", 0)? != 0,
        axes: a.ints("axes")?,
        keep_aspect_ratio_policy: a.string_or("keep_aspect_ratio_policy", "stretch")?,
        legacy,
        interp: Interp {
            mode: Mode::Nearest,
            coord: Coord::HalfPixel,
            nearest: Nearest::RoundPreferFloor,
            cubic_a: -0.75,
            exclude_outside: false,
            extrapolation: 0.0,
            antialias: false,
        },
    };
    let Some(coord) = Coord::parse(&r.coordinate_transformation_mode) else {
        bail!(
            "Resize: unsupported coordinate_transformation_mode '{}'",
            r.coordinate_transformation_mode
        )
    };
    let Some(nearest) = Nearest::parse(&r.nearest_mode) else {
        bail!("Resize: unsupported nearest_mode '{}'", r.nearest_mode)
    };
    if !matches!(
        r.keep_aspect_ratio_policy.as_str(),
        "stretch" | "not_larger" | "not_smaller"
    ) {
        bail!(
            "Resize: unsupported keep_aspect_ratio_policy '{}'",
            r.keep_aspect_ratio_policy
        );
    }
    r.interp = Interp {
        mode: parse_mode("Resize", &r.mode, !legacy)?,
        coord: if legacy { Coord::Asymmetric } else { coord },
        nearest: if legacy { Nearest::Simple } else { nearest },
        cubic_a: r.cubic_coeff_a as f64,
        exclude_outside: r.exclude_outside,
        extrapolation: r.extrapolation_value as f64,
        antialias: r.antialias,
    };
    Ok(Box::new(r))
}

/// A float list from an optional input; empty tensors count as absent.
fn floats(t: Option<&Tensor>) -> Result<Option<Vec<f64>>> {
    Ok(match t {
        Some(t) if !t.is_empty() => Some(t.to_f64_vec()?),
        _ => None,
    })
}

impl Resize {
    fn axes_for(&self, rank: usize) -> Result<Vec<usize>> {
        let Some(axes) = &self.axes else {
            return Ok((0..rank).collect());
        };
        let mut out = Vec::with_capacity(axes.len());
        for &a in axes {
            let Ok(ax) = normalize_axis(a, rank) else {
                bail!("Resize: axis {a} is out of range for rank {rank}")
            };
            if out.contains(&ax) {
                bail!("Resize: axis {a} is repeated in axes {axes:?}");
            }
            out.push(ax);
        }
        Ok(out)
    }

    /// Output shape, per-axis scales and roi from the scales/sizes/roi inputs.
    pub fn geometry(
        &self,
        in_shape: &[usize],
        scales: Option<&[f64]>,
        sizes: Option<&[f64]>,
        roi: Option<&[f64]>,
    ) -> Result<Geometry> {
        let r = in_shape.len();
        let axes = self.axes_for(r)?;
        let k = axes.len();
        let mut geo = Geometry {
            out_shape: in_shape.to_vec(),
            scales: vec![1.0; r],
            roi: vec![(0.0, 1.0); r],
            order: axes.clone(),
        };
        if let Some(roi) = roi {
            if roi.len() == 2 * k {
                for (i, &a) in axes.iter().enumerate() {
                    geo.roi[a] = (roi[i], roi[k + i]);
                }
            } else if self.interp.coord == Coord::TfCropAndResize {
                bail!(
                    "Resize: roi has {} values, expected {} for {k} axes",
                    roi.len(),
                    2 * k
                );
            }
        }
        match (scales, sizes) {
            (Some(_), Some(_)) => bail!("Resize: only one of scales and sizes may be given"),
            (None, None) => bail!("Resize: one of scales and sizes is required"),
            (Some(s), None) => {
                if s.len() != k {
                    bail!(
                        "Resize: scales has {} values for {k} axes of input shape {in_shape:?}",
                        s.len()
                    );
                }
                for (&a, &sc) in axes.iter().zip(s) {
                    if !(sc > 0.0 && sc.is_finite()) {
                        bail!("Resize: scales must be positive, got {s:?}");
                    }
                    geo.scales[a] = sc;
                    // The spec text scales by the roi extent too; the reference and
                    // onnxruntime do not, and neither do we.
                    geo.out_shape[a] = (sc * in_shape[a] as f64).floor() as usize;
                }
            }
            (None, Some(z)) => {
                if z.len() != k || z.iter().any(|&v| !(0.0..=(1u64 << 40) as f64).contains(&v)) {
                    bail!("Resize: sizes {z:?} do not fit {k} axes of input shape {in_shape:?}");
                }
                let ratio = |a: usize, v: f64| {
                    if in_shape[a] == 0 {
                        1.0
                    } else {
                        v / in_shape[a] as f64
                    }
                };
                let pick = match self.keep_aspect_ratio_policy.as_str() {
                    "not_larger" => Some(
                        axes.iter()
                            .zip(z)
                            .map(|(&a, &v)| ratio(a, v))
                            .fold(f64::INFINITY, f64::min),
                    ),
                    "not_smaller" => Some(
                        axes.iter()
                            .zip(z)
                            .map(|(&a, &v)| ratio(a, v))
                            .fold(0.0, f64::max),
                    ),
                    _ => None,
                };
                for (&a, &v) in axes.iter().zip(z) {
                    match pick {
                        Some(sc) => {
                            geo.scales[a] = sc;
                            geo.out_shape[a] = (sc * in_shape[a] as f64 + 0.5).floor() as usize;
                        }
                        None => {
                            geo.scales[a] = ratio(a, v);
                            geo.out_shape[a] = v as usize;
                        }
                    }
                }
            }
        }
        Ok(geo)
    }

    /// (roi, scales, sizes) input positions for this opset form.
    fn slots(&self) -> (Option<usize>, usize, Option<usize>) {
        if self.legacy {
            (None, 1, None)
        } else {
            (Some(1), 2, Some(3))
        }
    }

    /// Output dims when the input shape is partly symbolic: what the constants decide.
    fn infer_dims(
        &self,
        s: &[Dim],
        scales: Option<&[f64]>,
        sizes: Option<&[f64]>,
        roi: Option<&[f64]>,
    ) -> Result<Vec<Dim>> {
        let axes = self.axes_for(s.len())?;
        let crop = self.interp.coord == Coord::TfCropAndResize;
        if let Some(c) = edgeopt_tensor::shape::concrete(s) {
            if (scales.is_some() || sizes.is_some()) && (roi.is_some() || !crop) {
                let g = self.geometry(&c, scales, sizes, roi)?;
                return Ok(g.out_shape.into_iter().map(Dim::Known).collect());
            }
        }
        let mut out = s.to_vec();
        for (i, &a) in axes.iter().enumerate() {
            out[a] = match (scales, sizes) {
                (Some(_), _) if crop => Dim::Unknown,
                (Some(sc), _) if sc.get(i) == Some(&1.0) => s[a].clone(),
                (Some(sc), _) => match (s[a].known(), sc.get(i)) {
                    (Some(d), Some(&f)) => Dim::Known((f * d as f64).floor() as usize),
                    _ => Dim::Unknown,
                },
                (None, Some(z)) if self.keep_aspect_ratio_policy == "stretch" => z
                    .get(i)
                    .map(|&v| Dim::Known(v as usize))
                    .unwrap_or(Dim::Unknown),
                _ => Dim::Unknown,
            };
        }
        Ok(out)
    }
}

impl Op for Resize {
    fn op_type(&self) -> &str {
        "Resize"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let (ri, si, zi) = self.slots();
        let roi = floats(ri.and_then(|i| ctx.konst(i)))?;
        let scales = floats(ctx.konst(si))?;
        let sizes = floats(zi.and_then(|i| ctx.konst(i)))?;
        let shape = match &x.shape {
            Some(s) => {
                Some(self.infer_dims(s, scales.as_deref(), sizes.as_deref(), roi.as_deref())?)
            }
            None => None,
        };
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: x.dtype,
            shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let (ri, si, zi) = self.slots();
        let roi = floats(ri.map(|i| inputs.opt_tensor(i)).transpose()?.flatten())?;
        let scales = floats(inputs.opt_tensor(si)?)?;
        let sizes = floats(zi.map(|i| inputs.opt_tensor(i)).transpose()?.flatten())?;
        let geo = self.geometry(
            x.shape(),
            scales.as_deref(),
            sizes.as_deref(),
            roi.as_deref(),
        )?;
        Ok(vec![resample(x, &self.interp, &geo, "Resize")?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        match self.interp.mode {
            Mode::Nearest => ctx.movement(),
            Mode::Linear => ctx.elementwise(8),
            Mode::Cubic => ctx.elementwise(32),
        }
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let mut a = AttrList::default().string("mode", &self.mode);
        if self.legacy {
            return a.build();
        }
        a = a.string(
            "coordinate_transformation_mode",
            &self.coordinate_transformation_mode,
        );
        if self.nearest_mode != "round_prefer_floor" {
            a = a.string("nearest_mode", &self.nearest_mode);
        }
        if self.cubic_coeff_a != -0.75 {
            a = a.float("cubic_coeff_a", self.cubic_coeff_a);
        }
        if self.exclude_outside {
            a = a.int("exclude_outside", 1);
        }
        if self.extrapolation_value != 0.0 {
            a = a.float("extrapolation_value", self.extrapolation_value);
        }
        if self.antialias {
            a = a.int("antialias", 1);
        }
        if self.keep_aspect_ratio_policy != "stretch" {
            a = a.string("keep_aspect_ratio_policy", &self.keep_aspect_ratio_policy);
        }
        a.opt_ints("axes", self.axes.as_deref()).build()
    }
}
