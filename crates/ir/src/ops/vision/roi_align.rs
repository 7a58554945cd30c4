//! RoiAlign: bilinear region-of-interest pooling (Mask R-CNN).
//! Spec: <https://onnx.ai/onnx/operators/onnx__RoiAlign.html>
//!
//! Attributes: `mode` (avg | max, default avg), `output_height`/`output_width` (default 1),
//! `sampling_ratio` (default 0: adaptive, ceil(roi size / output size)), `spatial_scale`
//! (default 1.0), `coordinate_transformation_mode` (opset 16+: half_pixel (default) shifts
//! coordinates by -0.5; output_half_pixel does not, and is the opset-10 behaviour).
//! Inputs: `X` `[N, C, H, W]`, `rois` `[R, 4]` as (x1, y1, x2, y2), `batch_indices` `[R]` int64.
//! Output: `[R, C, output_height, output_width]`.
//! Semantics follow the ONNX reference / onnxruntime, including max mode taking the max of the
//! individually weighted corner samples.

use crate::attr::AttrList;
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{Dim, Tensor};

#[derive(Clone, Debug)]
pub struct RoiAlign {
    pub max: bool,
    pub output_height: usize,
    pub output_width: usize,
    pub sampling_ratio: i64,
    pub spatial_scale: f32,
    pub half_pixel: bool,
    /// Whether the op has the `coordinate_transformation_mode` attribute (opset 16+).
    has_ctm: bool,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let a = &mut *ctx.attrs;
    let max = match a.string_or("mode", "avg")?.as_str() {
        "avg" => false,
        "max" => true,
        m => bail!("RoiAlign: mode must be avg or max, got '{m}'"),
    };
    let has_ctm = ctx.opset >= 16;
    let half_pixel = match a
        .string_or(
            "coordinate_transformation_mode",
            if has_ctm {
                "half_pixel"
            } else {
                "output_half_pixel"
            },
        )?
        .as_str()
    {
        "half_pixel" => true,
        "output_half_pixel" => false,
        m => bail!("RoiAlign: unsupported coordinate_transformation_mode '{m}'"),
    };
    let size = |v: i64, what: &str| -> Result<usize> {
        if !(1..=1 << 20).contains(&v) {
            bail!("RoiAlign: {what} must be positive, got {v}");
        }
        Ok(v as usize)
    };
    Ok(Box::new(RoiAlign {
        max,
        output_height: size(a.int_or("output_height", 1)?, "output_height")?,
        output_width: size(a.int_or("output_width", 1)?, "output_width")?,
        sampling_ratio: a.int_or("sampling_ratio", 0)?.max(0),
        spatial_scale: a.float_or("spatial_scale", 1.0)?,
        half_pixel,
        has_ctm,
    }))
}

/// One bilinear sample: four (offset, weight) corners, or nothing when outside the map.
fn sample(y: f64, x: f64, h: usize, w: usize) -> Option<[(usize, f64); 4]> {
    if y < -1.0 || y > h as f64 || x < -1.0 || x > w as f64 {
        return None;
    }
    let (mut y, mut x) = (y.max(0.0), x.max(0.0));
    let (mut yl, mut xl) = (y as usize, x as usize);
    let (yh, xh);
    if yl >= h - 1 {
        yl = h - 1;
        yh = yl;
        y = yl as f64;
    } else {
        yh = yl + 1;
    }
    if xl >= w - 1 {
        xl = w - 1;
        xh = xl;
        x = xl as f64;
    } else {
        xh = xl + 1;
    }
    let (ly, lx) = (y - yl as f64, x - xl as f64);
    let (hy, hx) = (1.0 - ly, 1.0 - lx);
    Some([
        (yl * w + xl, hy * hx),
        (yl * w + xh, hy * lx),
        (yh * w + xl, ly * hx),
        (yh * w + xh, ly * lx),
    ])
}

impl Op for RoiAlign {
    fn op_type(&self) -> &str {
        "RoiAlign"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let r = ctx
            .tensor(2)
            .shape
            .and_then(|s| s.first().cloned())
            .unwrap_or(Dim::Unknown);
        let c = x
            .shape
            .as_ref()
            .and_then(|s| s.get(1).cloned())
            .unwrap_or(Dim::Unknown);
        let shape = vec![
            r,
            c,
            Dim::Known(self.output_height),
            Dim::Known(self.output_width),
        ];
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: x.dtype,
            shape: Some(shape),
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (x, rois, bi) = (inputs.tensor(0)?, inputs.tensor(1)?, inputs.tensor(2)?);
        let &[n, c, h, w] = x.shape() else {
            bail!("RoiAlign: X must be 4-D, got shape {:?}", x.shape())
        };
        if h == 0 || w == 0 {
            bail!("RoiAlign: X has an empty spatial extent {:?}", x.shape());
        }
        let nr = bi.len();
        if rois.shape() != [nr, 4] || bi.rank() != 1 {
            bail!(
                "RoiAlign: rois {:?} must be [R, 4] with batch_indices [R], got {:?}",
                rois.shape(),
                bi.shape()
            );
        }
        let (ph, pw) = (self.output_height, self.output_width);
        let out_shape = vec![nr, c, ph, pw];
        let mut y = vec![0f64; checked_numel(&out_shape)?];
        let (xv, rv, bv) = (x.to_f64_vec()?, rois.to_f64_vec()?, bi.to_i64_vec()?);
        let scale = self.spatial_scale as f64;
        let offset = if self.half_pixel { 0.5 } else { 0.0 };
        for r in 0..nr {
            let b = bv[r];
            if b < 0 || b as usize >= n {
                bail!("RoiAlign: batch index {b} of roi {r} is outside [0, {n})");
            }
            let roi = &rv[r * 4..r * 4 + 4];
            let (x0, y0) = (roi[0] * scale - offset, roi[1] * scale - offset);
            let (mut rw, mut rh) = (roi[2] * scale - offset - x0, roi[3] * scale - offset - y0);
            if !self.half_pixel {
                rw = rw.max(1.0);
                rh = rh.max(1.0);
            }
            let (bh, bw) = (rh / ph as f64, rw / pw as f64);
            let grid = |v: f64| -> usize {
                if self.sampling_ratio > 0 {
                    self.sampling_ratio as usize
                } else {
                    v.ceil().clamp(0.0, 1e9) as usize
                }
            };
            let (gh, gw) = (grid(rh / ph as f64), grid(rw / pw as f64));
            if gh.saturating_mul(gw) > 1 << 20 {
                bail!(
                    "RoiAlign: roi {r} {roi:?} needs a {gh}x{gw} sampling grid per bin, too large"
                );
            }
            let count = (gh * gw).max(1) as f64;
            for py in 0..ph {
                for px in 0..pw {
                    let mut samples = Vec::with_capacity(gh * gw);
                    for iy in 0..gh {
                        let yy = y0 + py as f64 * bh + (iy as f64 + 0.5) * bh / gh as f64;
                        for ix in 0..gw {
                            let xx = x0 + px as f64 * bw + (ix as f64 + 0.5) * bw / gw as f64;
                            samples.push(sample(yy, xx, h, w));
                        }
                    }
                    for ch in 0..c {
                        let base = (b as usize * c + ch) * h * w;
                        let v = |s: &Option<[(usize, f64); 4]>| -> [f64; 4] {
                            s.map(|s| s.map(|(o, wt)| wt * xv[base + o]))
                                .unwrap_or([0.0; 4])
                        };
                        let out = if self.max {
                            samples
                                .iter()
                                .map(|s| v(s).into_iter().fold(f64::NEG_INFINITY, f64::max))
                                .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))))
                        } else {
                            Some(
                                samples
                                    .iter()
                                    .map(|s| v(s).iter().sum::<f64>())
                                    .sum::<f64>()
                                    / count,
                            )
                        };
                        y[((r * c + ch) * ph + py) * pw + px] = out.unwrap_or(0.0);
                    }
                }
            }
        }
        Ok(vec![Tensor::from_f64s(x.dtype(), out_shape, &y)?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.elementwise(16)
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let mut a = AttrList::default()
            .string("mode", if self.max { "max" } else { "avg" })
            .int("output_height", self.output_height as i64)
            .int("output_width", self.output_width as i64)
            .int("sampling_ratio", self.sampling_ratio)
            .float("spatial_scale", self.spatial_scale);
        if self.has_ctm {
            a = a.string(
                "coordinate_transformation_mode",
                if self.half_pixel {
                    "half_pixel"
                } else {
                    "output_half_pixel"
                },
            );
        }
        a.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval1};

    fn op(max: bool, half_pixel: bool) -> RoiAlign {
        RoiAlign {
            max,
            output_height: 2,
            output_width: 2,
            sampling_ratio: 2,
            spatial_scale: 1.0,
            half_pixel,
            has_ctm: true,
        }
    }

    fn run(op: &RoiAlign) -> Vec<f32> {
        let x = Tensor::from_vec(vec![1, 1, 4, 4], (0..16).map(|v| v as f32).collect()).unwrap();
        let rois = Tensor::from_vec(vec![1, 4], vec![0f32, 0., 3., 3.]).unwrap();
        let y = eval1(op, &[Some(x), Some(rois), Some(Tensor::vec1(vec![0i64]))]).unwrap();
        y.as_slice::<f32>().unwrap().to_vec()
    }

    #[test]
    fn matches_reference() {
        // ONNX reference implementation (onnx 1.23) on arange(16) as [1,1,4,4], roi (0,0,3,3).
        assert_close(
            &run(&op(false, true)),
            &[1.5625, 3.0, 7.3125, 8.75],
            1e-5,
            0.0,
        );
        assert_close(
            &run(&op(false, false)),
            &[3.75, 5.25, 9.75, 11.25],
            1e-5,
            0.0,
        );
        assert_close(
            &run(&op(true, false)),
            &[3.828125, 4.59375, 7.109375, 7.65625],
            1e-5,
            0.0,
        );
    }

    #[test]
    fn bad_batch_index_errors() {
        let x = Tensor::zeros(edgeopt_tensor::DType::F32, vec![1, 1, 2, 2]).unwrap();
        let rois = Tensor::from_vec(vec![1, 4], vec![0f32, 0., 1., 1.]).unwrap();
        assert!(eval1(
            &op(false, true),
            &[Some(x), Some(rois), Some(Tensor::vec1(vec![3i64]))]
        )
        .is_err());
    }
}
