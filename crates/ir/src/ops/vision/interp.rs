//! Separable interpolation for Resize and Upsample, a port of the ONNX reference
//! (`onnx/reference/ops/op_resize.py`): each resized axis is processed in turn with a 1-D
//! filter whose taps and weights depend only on the output position, computed in f64.

use crate::{bail, Result};
use edgeopt_tensor::shape::checked_numel;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Nearest,
    Linear,
    Cubic,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coord {
    HalfPixel,
    HalfPixelSymmetric,
    PytorchHalfPixel,
    AlignCorners,
    Asymmetric,
    TfHalfPixelForNn,
    TfCropAndResize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nearest {
    RoundPreferFloor,
    RoundPreferCeil,
    Floor,
    Ceil,
    /// Resize-10 and Upsample (as onnxruntime): ceil when downsampling, floor otherwise.
    Simple,
}

impl Coord {
    pub fn parse(s: &str) -> Option<Coord> {
        Some(match s {
            "half_pixel" => Coord::HalfPixel,
            "half_pixel_symmetric" => Coord::HalfPixelSymmetric,
            "pytorch_half_pixel" => Coord::PytorchHalfPixel,
            "align_corners" => Coord::AlignCorners,
            "asymmetric" => Coord::Asymmetric,
            "tf_half_pixel_for_nn" => Coord::TfHalfPixelForNn,
            "tf_crop_and_resize" => Coord::TfCropAndResize,
            _ => return None,
        })
    }
}

impl Nearest {
    pub fn parse(s: &str) -> Option<Nearest> {
        Some(match s {
            "round_prefer_floor" => Nearest::RoundPreferFloor,
            "round_prefer_ceil" => Nearest::RoundPreferCeil,
            "floor" => Nearest::Floor,
            "ceil" => Nearest::Ceil,
            _ => return None,
        })
    }
}

/// Everything that shapes the 1-D filter.
#[derive(Clone, Copy, Debug)]
pub struct Interp {
    pub mode: Mode,
    pub coord: Coord,
    pub nearest: Nearest,
    pub cubic_a: f64,
    pub exclude_outside: bool,
    pub extrapolation: f64,
    pub antialias: bool,
}

/// The filter for one axis: output position `o` reads `idx[o * n + k]` with weight `w[o * n + k]`,
/// or is `extrapolated` (tf_crop_and_resize outside the input).
pub struct Taps {
    pub n: usize,
    pub idx: Vec<usize>,
    pub w: Vec<f64>,
    pub extrapolated: Vec<bool>,
}

fn cubic(a: f64, ratio: f64) -> Vec<f64> {
    let (r, s) = (ratio + 1.0, 2.0 - ratio);
    vec![
        ((a * r - 5.0 * a) * r + 8.0 * a) * r - 4.0 * a,
        ((a + 2.0) * ratio - (a + 3.0)) * ratio * ratio + 1.0,
        ((a + 2.0) * (1.0 - ratio) - (a + 3.0)) * (1.0 - ratio) * (1.0 - ratio) + 1.0,
        ((a * s - 5.0 * a) * s + 8.0 * a) * s - 4.0 * a,
    ]
}

fn normalized(c: Vec<f64>) -> Vec<f64> {
    let s: f64 = c.iter().sum();
    c.into_iter().map(|v| v / s).collect()
}

/// The antialiasing filters stretch the kernel by 1/scale when downsampling.
fn cubic_antialias(a: f64, ratio: f64, scale: f64) -> Vec<f64> {
    let scale = scale.min(1.0);
    let start = (-2.0 / scale).floor() as i64 + 1;
    let coeff = |x: f64| {
        let x = x.abs();
        let (x2, x3) = (x * x, x * x * x);
        if x <= 1.0 {
            (a + 2.0) * x3 - (a + 3.0) * x2 + 1.0
        } else if x < 2.0 {
            a * x3 - 5.0 * a * x2 + 8.0 * a * x - 4.0 * a
        } else {
            0.0
        }
    };
    normalized(
        (start..2 - start)
            .map(|i| coeff(scale * (i as f64 - ratio)))
            .collect(),
    )
}

fn linear_antialias(ratio: f64, scale: f64) -> Vec<f64> {
    let scale = scale.min(1.0);
    let start = (-1.0 / scale).floor() as i64 + 1;
    let footprint = 2 - 2 * start;
    normalized(
        (start..start + footprint)
            .map(|i| (1.0 - ((i as f64 - ratio) * scale).abs()).clamp(0.0, 1.0))
            .collect(),
    )
}

impl Interp {
    /// Filter weights for a source coordinate whose distance past its floor is `ratio` (in
    /// (0, 1]; exact integers use 1 so the pixel on the left is preferred).
    fn coeffs(&self, ratio: f64, scale: f64) -> Vec<f64> {
        match self.mode {
            Mode::Nearest => {
                let ceil = if ratio == 1.0 {
                    true
                } else {
                    match self.nearest {
                        Nearest::RoundPreferFloor => ratio > 0.5,
                        Nearest::RoundPreferCeil => ratio >= 0.5,
                        Nearest::Floor => false,
                        Nearest::Ceil => true,
                        Nearest::Simple => scale < 1.0,
                    }
                };
                if ceil {
                    vec![0.0, 1.0]
                } else {
                    vec![1.0, 0.0]
                }
            }
            Mode::Linear if self.antialias => linear_antialias(ratio, scale),
            Mode::Linear => vec![1.0 - ratio, ratio],
            Mode::Cubic if self.antialias => cubic_antialias(self.cubic_a, ratio, scale),
            Mode::Cubic => cubic(self.cubic_a, ratio),
        }
    }

    /// Source coordinate of output position `y`, and whether it falls outside the crop.
    fn source(
        &self,
        y: f64,
        scale: f64,
        in_len: usize,
        out_len: usize,
        roi: (f64, f64),
    ) -> (f64, bool) {
        let (inw, outw) = (in_len as f64, scale * in_len as f64);
        match self.coord {
            Coord::AlignCorners if outw == 1.0 => (0.0, false),
            Coord::AlignCorners => (y * (inw - 1.0) / (outw - 1.0), false),
            Coord::Asymmetric => (y / scale, false),
            Coord::TfHalfPixelForNn => ((y + 0.5) / scale, false),
            // The spec (and onnxruntime) use 0 for a single output; the Python reference -0.5.
            Coord::PytorchHalfPixel if out_len <= 1 => (0.0, false),
            Coord::PytorchHalfPixel | Coord::HalfPixel => ((y + 0.5) / scale - 0.5, false),
            Coord::HalfPixelSymmetric => {
                let adjustment = out_len as f64 / outw;
                let offset = inw / 2.0 * (1.0 - adjustment);
                (offset + (y + 0.5) / scale - 0.5, false)
            }
            Coord::TfCropAndResize => {
                // The integer output length, as the spec and onnxruntime (the reference uses
                // the fractional one, which only differs when resizing by scales).
                let x = if out_len == 1 {
                    (roi.1 - roi.0) * (inw - 1.0) / 2.0
                } else {
                    y * (roi.1 - roi.0) * (inw - 1.0) / (out_len as f64 - 1.0)
                } + roi.0 * (inw - 1.0);
                (x, x < 0.0 || x > inw - 1.0)
            }
        }
    }

    /// The filter resizing an axis of `in_len` to `out_len` at `scale` (roi `(start, end)` is
    /// used by tf_crop_and_resize only).
    pub fn taps(&self, in_len: usize, out_len: usize, scale: f64, roi: (f64, f64)) -> Result<Taps> {
        if in_len == 0 && out_len > 0 {
            bail!("Resize: cannot resize an empty axis to {out_len} elements");
        }
        let mut t = Taps {
            n: 0,
            idx: vec![],
            w: vec![],
            extrapolated: vec![],
        };
        for o in 0..out_len {
            let (x, extrapolated) = self.source(o as f64, scale, in_len, out_len, roi);
            if !x.is_finite() {
                bail!("Resize: non-finite source coordinate for output {o} (scale {scale})");
            }
            let ratio = if x == x.floor() { 1.0 } else { x - x.floor() };
            let mut c = self.coeffs(ratio, scale);
            let n = c.len();
            if t.n == 0 {
                t.n = n;
                let cap = checked_numel(&[out_len, n])?;
                t.idx.reserve(cap);
                t.w.reserve(cap);
            } else if n != t.n {
                bail!("Resize: internal error, filter size changed along an axis");
            }
            // The n nearest samples to x, ties going to the smaller index (as the reference).
            let pad = n.div_ceil(2) as f64;
            let xp = x + pad;
            let (p, frac) = (xp.floor(), xp - xp.floor());
            let half = (n / 2) as f64;
            let start = if n & 1 == 0 {
                if frac == 0.0 {
                    p - half
                } else {
                    p - half + 1.0
                }
            } else {
                let base = -(((n - 1) / 2) as f64);
                if frac <= 0.5 {
                    p + base
                } else {
                    p + base + 1.0
                }
            } - pad;
            if self.exclude_outside {
                for (k, ck) in c.iter_mut().enumerate() {
                    let i = start + k as f64;
                    if i < 0.0 || i >= in_len as f64 {
                        *ck = 0.0;
                    }
                }
                let s: f64 = c.iter().sum();
                if s != 0.0 {
                    c.iter_mut().for_each(|v| *v /= s);
                }
            }
            let last = in_len.saturating_sub(1) as f64;
            for (k, ck) in c.into_iter().enumerate() {
                t.idx.push((start + k as f64).clamp(0.0, last) as usize);
                t.w.push(ck);
            }
            t.extrapolated.push(extrapolated);
        }
        Ok(t)
    }
}

/// Applies `taps` along `axis` of the row-major `x` of `shape`, returning the new buffer.
pub fn apply_axis(
    x: &[f64],
    shape: &[usize],
    axis: usize,
    taps: &Taps,
    extrapolation: f64,
) -> Result<Vec<f64>> {
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let (in_len, out_len) = (shape[axis], taps.extrapolated.len());
    let mut out_shape = shape.to_vec();
    out_shape[axis] = out_len;
    let mut y = vec![0f64; checked_numel(&out_shape)?];
    for o in 0..outer {
        let src = &x[o * in_len * inner..(o + 1) * in_len * inner];
        for p in 0..out_len {
            let dst = &mut y[(o * out_len + p) * inner..(o * out_len + p + 1) * inner];
            if taps.extrapolated[p] {
                dst.fill(extrapolation);
                continue;
            }
            for k in 0..taps.n {
                let (i, w) = (taps.idx[p * taps.n + k], taps.w[p * taps.n + k]);
                let row = &src[i * inner..(i + 1) * inner];
                for (d, &s) in dst.iter_mut().zip(row) {
                    *d += w * s;
                }
            }
        }
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interp(mode: Mode, coord: Coord) -> Interp {
        Interp {
            mode,
            coord,
            nearest: Nearest::RoundPreferFloor,
            cubic_a: -0.75,
            exclude_outside: false,
            extrapolation: 0.0,
            antialias: false,
        }
    }

    #[test]
    fn linear_half_pixel_upsample_by_two() {
        // numpy reference: resizing [1, 2] to 4 with half_pixel linear gives [1, 1.25, 1.75, 2].
        let t = interp(Mode::Linear, Coord::HalfPixel)
            .taps(2, 4, 2.0, (0.0, 1.0))
            .unwrap();
        let y = apply_axis(&[1.0, 2.0], &[2], 0, &t, 0.0).unwrap();
        assert_eq!(y, vec![1.0, 1.25, 1.75, 2.0]);
    }

    #[test]
    fn nearest_asymmetric_prefers_floor_on_ties() {
        let t = interp(Mode::Nearest, Coord::Asymmetric)
            .taps(2, 4, 2.0, (0.0, 1.0))
            .unwrap();
        let y = apply_axis(&[1.0, 2.0], &[2], 0, &t, 0.0).unwrap();
        assert_eq!(y, vec![1.0, 1.0, 2.0, 2.0]);
    }

    #[test]
    fn cubic_taps_sum_to_one() {
        let t = interp(Mode::Cubic, Coord::HalfPixel)
            .taps(4, 3, 0.75, (0.0, 1.0))
            .unwrap();
        for o in 0..3 {
            let s: f64 = t.w[o * 4..o * 4 + 4].iter().sum();
            assert!((s - 1.0).abs() < 1e-12);
        }
    }
}
