//! Sliding-window geometry shared by Conv, ConvTranspose, DeformConv and the pools: the
//! `kernel_shape`/`strides`/`dilations`/`pads`/`auto_pad` attributes and the output sizes and
//! effective pads they imply.

use crate::attr::{AttrList, Attrs};
use crate::ops::util::broadcast_to;
use crate::{bail, Result};
use edgeopt_tensor::{Dim, Tensor};

/// Largest kernel, stride, dilation or pad accepted: far beyond real models, small enough that
/// products of these with tensor sizes cannot overflow.
pub const MAX_ATTR: i64 = 1 << 24;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoPad {
    NotSet,
    SameUpper,
    SameLower,
    Valid,
}

impl AutoPad {
    pub fn parse(op: &str, s: &str) -> Result<AutoPad> {
        Ok(match s {
            "NOTSET" | "" => AutoPad::NotSet,
            "SAME_UPPER" => AutoPad::SameUpper,
            "SAME_LOWER" => AutoPad::SameLower,
            "VALID" => AutoPad::Valid,
            other => bail!("{op}: unknown auto_pad '{other}' (expected NOTSET, SAME_UPPER, SAME_LOWER or VALID)"),
        })
    }

    pub fn is_same(self) -> bool {
        matches!(self, AutoPad::SameUpper | AutoPad::SameLower)
    }
}

/// The window attributes as written on the node (kept as given so export round-trips).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WindowAttrs {
    pub auto_pad: Option<String>,
    pub kernel_shape: Option<Vec<i64>>,
    pub strides: Option<Vec<i64>>,
    pub dilations: Option<Vec<i64>>,
    pub pads: Option<Vec<i64>>,
}

impl WindowAttrs {
    /// Reads the attributes; `dilations` only where the op (at this opset) has them.
    pub fn parse(op: &str, a: &mut Attrs, with_dilations: bool) -> Result<WindowAttrs> {
        let auto_pad = a.string("auto_pad")?;
        if let Some(s) = &auto_pad {
            AutoPad::parse(op, s)?;
        }
        Ok(WindowAttrs {
            auto_pad,
            kernel_shape: a.ints("kernel_shape")?,
            strides: a.ints("strides")?,
            dilations: if with_dilations {
                a.ints("dilations")?
            } else {
                None
            },
            pads: a.ints("pads")?,
        })
    }

    pub fn export(&self, l: AttrList) -> AttrList {
        l.opt_string("auto_pad", self.auto_pad.as_deref())
            .opt_ints("kernel_shape", self.kernel_shape.as_deref())
            .opt_ints("strides", self.strides.as_deref())
            .opt_ints("dilations", self.dilations.as_deref())
            .opt_ints("pads", self.pads.as_deref())
    }

    pub fn auto_pad(&self) -> AutoPad {
        // Validated in `parse`.
        self.auto_pad
            .as_deref()
            .and_then(|s| AutoPad::parse("", s).ok())
            .unwrap_or(AutoPad::NotSet)
    }

    /// Resolves the attributes for `nd` spatial axes. `kernel` is the kernel from the weights
    /// (Conv) when `kernel_shape` is absent; pools require `kernel_shape`.
    pub fn resolve(
        &self,
        op: &str,
        nd: usize,
        kernel: Option<&[usize]>,
        ceil_mode: bool,
    ) -> Result<Window> {
        let pos = |name: &str,
                   v: &Option<Vec<i64>>,
                   len: usize,
                   min: i64|
         -> Result<Option<Vec<usize>>> {
            match v {
                None => Ok(None),
                Some(v) if v.len() != len => {
                    bail!(
                        "{op}: '{name}' has {} values, expected {len} for {nd} spatial axes",
                        v.len()
                    )
                }
                Some(v) if v.iter().any(|&x| x < min || x > MAX_ATTR) => {
                    bail!("{op}: '{name}' values must be in {min}..={MAX_ATTR}, got {v:?}")
                }
                Some(v) => Ok(Some(v.iter().map(|&x| x as usize).collect())),
            }
        };
        let kernel = match (pos("kernel_shape", &self.kernel_shape, nd, 1)?, kernel) {
            (Some(k), Some(w)) if k != w => {
                bail!("{op}: kernel_shape {k:?} does not match the weights' {w:?}")
            }
            (Some(k), _) => k,
            (None, Some(w)) => w.to_vec(),
            (None, None) => bail!("{op}: attribute 'kernel_shape' is required"),
        };
        if kernel.iter().any(|&k| k == 0 || k as i64 > MAX_ATTR) {
            bail!("{op}: kernel dims must be in 1..={MAX_ATTR}, got {kernel:?}");
        }
        Ok(Window {
            kernel,
            strides: pos("strides", &self.strides, nd, 1)?.unwrap_or_else(|| vec![1; nd]),
            dilations: pos("dilations", &self.dilations, nd, 1)?.unwrap_or_else(|| vec![1; nd]),
            pads: pos("pads", &self.pads, 2 * nd, 0)?.unwrap_or_else(|| vec![0; 2 * nd]),
            auto_pad: self.auto_pad(),
            ceil_mode,
        })
    }
}

/// Resolved window parameters for `nd` spatial axes. `pads` is `[begin..., end...]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    pub kernel: Vec<usize>,
    pub strides: Vec<usize>,
    pub dilations: Vec<usize>,
    pub pads: Vec<usize>,
    pub auto_pad: AutoPad,
    pub ceil_mode: bool,
}

/// One spatial axis of a forward (Conv/pool) window: output size and the pads actually used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Axis {
    pub input: usize,
    pub output: usize,
    pub kernel: usize,
    pub stride: usize,
    pub dilation: usize,
    pub pad_begin: usize,
    pub pad_end: usize,
}

impl Window {
    pub fn nd(&self) -> usize {
        self.kernel.len()
    }

    /// Output size and pads of spatial axis `i` for an input of `input` elements.
    pub fn axis(&self, op: &str, i: usize, input: usize) -> Result<Axis> {
        let (k, s, d) = (self.kernel[i], self.strides[i], self.dilations[i]);
        let eff = (k - 1) * d + 1;
        let nd = self.nd();
        let (output, pb, pe) = match self.auto_pad {
            AutoPad::SameUpper | AutoPad::SameLower => {
                let out = input.div_ceil(s);
                let total = ((out.max(1) - 1) * s + eff).saturating_sub(input);
                let pb = if self.auto_pad == AutoPad::SameUpper {
                    total / 2
                } else {
                    total - total / 2
                };
                (out, pb, total - pb)
            }
            AutoPad::NotSet | AutoPad::Valid => {
                let (pb, pe) = if self.auto_pad == AutoPad::Valid {
                    (0, 0)
                } else {
                    (self.pads[i], self.pads[nd + i])
                };
                let total = input + pb + pe;
                if total < eff {
                    bail!(
                        "{op}: spatial axis {i} of size {input} (padded {total}) is smaller than the \
                         dilated kernel {eff}"
                    );
                }
                let mut out = (total - eff) / s + 1;
                if self.ceil_mode {
                    out = (total - eff).div_ceil(s) + 1;
                    // The last window must start inside the input or its begin padding.
                    if (out - 1) * s >= input + pb {
                        out -= 1;
                    }
                }
                (out, pb, pe)
            }
        };
        Ok(Axis {
            input,
            output,
            kernel: k,
            stride: s,
            dilation: d,
            pad_begin: pb,
            pad_end: pe,
        })
    }

    /// Every spatial axis for the input's spatial dims.
    pub fn axes(&self, op: &str, spatial: &[usize]) -> Result<Vec<Axis>> {
        if spatial.len() != self.nd() {
            bail!(
                "{op}: input has {} spatial axes but the kernel has {}",
                spatial.len(),
                self.nd()
            );
        }
        spatial
            .iter()
            .enumerate()
            .map(|(i, &x)| self.axis(op, i, x))
            .collect()
    }

    /// Symbolic output spatial dims (unknown where the input dim is unknown).
    pub fn infer_spatial(&self, op: &str, spatial: &[Dim]) -> Result<Vec<Dim>> {
        if spatial.len() != self.nd() {
            bail!(
                "{op}: input has {} spatial axes but the kernel has {}",
                spatial.len(),
                self.nd()
            );
        }
        spatial
            .iter()
            .enumerate()
            .map(|(i, d)| match d {
                Dim::Known(x) => Ok(Dim::Known(self.axis(op, i, *x)?.output)),
                _ => Ok(Dim::Unknown),
            })
            .collect()
    }
}

/// Mean and population variance of each contiguous row of `inner` values (two passes, so the
/// variance is never negative).
pub fn row_moments(x: &[f64], inner: usize) -> Vec<(f64, f64)> {
    x.chunks(inner.max(1))
        .map(|r| {
            let mean = r.iter().sum::<f64>() / r.len() as f64;
            let var = r.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / r.len() as f64;
            (mean, var)
        })
        .collect()
}

/// A float tensor's values as f64, broadcast unidirectionally to `target`.
pub fn broadcast_f64(op: &str, name: &str, t: &Tensor, target: &[usize]) -> Result<Vec<f64>> {
    if !t.dtype().is_float() {
        bail!("{op}: {name} must be a float tensor, got {}", t.dtype());
    }
    let wide = Tensor::from_vec(t.shape().to_vec(), t.to_f64_vec()?)?;
    broadcast_to::<f64>(&wide, target).map_err(|_| {
        crate::IrError::Op(format!(
            "{op}: {name} {:?} does not broadcast to {target:?}",
            t.shape()
        ))
    })
}

/// Checks an input is a float tensor of rank >= `min_rank`.
pub fn float_input(op: &str, t: &Tensor, min_rank: usize) -> Result<()> {
    if !t.dtype().is_float() || t.rank() < min_rank {
        bail!(
            "{op}: input must be a float tensor of rank >= {min_rank}, got {} {:?}",
            t.dtype(),
            t.shape()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(
        k: usize,
        s: usize,
        d: usize,
        pads: [usize; 2],
        auto_pad: AutoPad,
        ceil: bool,
    ) -> Window {
        Window {
            kernel: vec![k],
            strides: vec![s],
            dilations: vec![d],
            pads: pads.to_vec(),
            auto_pad,
            ceil_mode: ceil,
        }
    }

    #[test]
    fn explicit_pads_floor_and_ceil() {
        // 5 + 1 + 1 - 3 = 4; /2 + 1 = 3.
        assert_eq!(
            window(3, 2, 1, [1, 1], AutoPad::NotSet, false)
                .axis("t", 0, 5)
                .unwrap()
                .output,
            3
        );
        // PyTorch: L=4, k=3, s=2, ceil -> ceil(1/2)+1 = 2 (last window starts at 2 < 4).
        assert_eq!(
            window(3, 2, 1, [0, 0], AutoPad::NotSet, true)
                .axis("t", 0, 4)
                .unwrap()
                .output,
            2
        );
        // ceil would give 3 windows, but the third would start at 4 >= 3 + 1: reduced to 2.
        assert_eq!(
            window(2, 2, 1, [1, 0], AutoPad::NotSet, true)
                .axis("t", 0, 3)
                .unwrap()
                .output,
            2
        );
        assert!(window(5, 1, 1, [0, 0], AutoPad::NotSet, false)
            .axis("t", 0, 3)
            .is_err());
    }

    #[test]
    fn same_and_valid() {
        // SAME: out = ceil(5/2) = 3, total pad = 2*2 + 3 - 5 = 2.
        let a = window(3, 2, 1, [0, 0], AutoPad::SameUpper, false)
            .axis("t", 0, 5)
            .unwrap();
        assert_eq!((a.output, a.pad_begin, a.pad_end), (3, 1, 1));
        // Odd total pad goes at the end for SAME_UPPER and the beginning for SAME_LOWER.
        let u = window(2, 1, 1, [0, 0], AutoPad::SameUpper, false)
            .axis("t", 0, 4)
            .unwrap();
        let l = window(2, 1, 1, [0, 0], AutoPad::SameLower, false)
            .axis("t", 0, 4)
            .unwrap();
        assert_eq!(
            (u.pad_begin, u.pad_end, l.pad_begin, l.pad_end),
            (0, 1, 1, 0)
        );
        // Dilation 2 makes a 3-kernel span 5.
        assert_eq!(
            window(3, 1, 2, [9, 9], AutoPad::Valid, false)
                .axis("t", 0, 7)
                .unwrap()
                .output,
            3
        );
    }

    #[test]
    fn attribute_validation() {
        let w = WindowAttrs {
            strides: Some(vec![1]),
            ..Default::default()
        };
        assert!(w.resolve("t", 2, Some(&[3, 3]), false).is_err());
        let w = WindowAttrs {
            pads: Some(vec![-1, 0]),
            ..Default::default()
        };
        assert!(w.resolve("t", 1, Some(&[3]), false).is_err());
        assert!(WindowAttrs::default().resolve("t", 1, None, false).is_err());
    }
}
