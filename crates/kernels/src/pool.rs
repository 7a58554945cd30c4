//! 2-D max and average pooling on NCHW tensors (ONNX MaxPool / AveragePool: pads, strides,
//! dilations, `ceil_mode`, `count_include_pad`) and global pooling.
//!
//! Computed one output row at a time: every kernel tap combines its shifted input row into the
//! output row over the outputs where it lies inside the input (ranges computed once per
//! call), so the inner loops are straight and vectorized by the compiler.

use crate::conv::Conv2dShape;
use crate::softmax::{max_lanes, sum_lanes};
use crate::{KernelError, Result};

/// The geometry of a 2-D pooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pool2dShape {
    /// Images (N).
    pub batch: usize,
    /// Channels (C).
    pub channels: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Window height.
    pub kernel_h: usize,
    /// Window width.
    pub kernel_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Vertical dilation.
    pub dilation_h: usize,
    /// Horizontal dilation.
    pub dilation_w: usize,
    /// Padding above.
    pub pad_top: usize,
    /// Padding left.
    pub pad_left: usize,
    /// Padding below.
    pub pad_bottom: usize,
    /// Padding right.
    pub pad_right: usize,
    /// Round the output size up (a last window that starts inside the bottom/right padding
    /// is dropped, as ONNX Runtime and PyTorch do).
    pub ceil_mode: bool,
}

/// What a window reduces to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    /// The maximum of the window's elements inside the input.
    Max,
    /// The mean of the window: divided by the elements inside the input, or with
    /// `count_include_pad` by those inside the padded input.
    Average {
        /// Count padding elements in the divisor.
        count_include_pad: bool,
    },
}

impl Pool2dShape {
    /// The same geometry as a depthwise convolution (for validation and valid ranges).
    fn as_conv(&self) -> Conv2dShape {
        Conv2dShape {
            batch: self.batch,
            in_channels: self.channels,
            in_h: self.in_h,
            in_w: self.in_w,
            out_channels: self.channels,
            kernel_h: self.kernel_h,
            kernel_w: self.kernel_w,
            stride_h: self.stride_h,
            stride_w: self.stride_w,
            dilation_h: self.dilation_h,
            dilation_w: self.dilation_w,
            pad_top: self.pad_top,
            pad_left: self.pad_left,
            pad_bottom: self.pad_bottom,
            pad_right: self.pad_right,
            groups: self.channels.max(1),
        }
    }

    fn axis(&self, input: usize, k: usize, s: usize, d: usize, begin: usize, end: usize) -> usize {
        let span = (k - 1) * d + 1;
        let padded = input + begin + end;
        if padded < span {
            return 0;
        }
        let mut out = (padded - span) / s + 1;
        if self.ceil_mode && !(padded - span).is_multiple_of(s) {
            out += 1;
            if (out - 1) * s >= input + begin {
                out -= 1;
            }
        }
        out
    }

    /// Output height.
    pub fn out_h(&self) -> usize {
        if self.validate().is_err() {
            return 0;
        }
        self.axis(
            self.in_h,
            self.kernel_h,
            self.stride_h,
            self.dilation_h,
            self.pad_top,
            self.pad_bottom,
        )
    }

    /// Output width.
    pub fn out_w(&self) -> usize {
        if self.validate().is_err() {
            return 0;
        }
        self.axis(
            self.in_w,
            self.kernel_w,
            self.stride_w,
            self.dilation_w,
            self.pad_left,
            self.pad_right,
        )
    }

    /// Checks the geometry: positive window, strides and dilations; a window that fits the
    /// padded input; addressable sizes (plus the ceil-mode row, for the same checks).
    pub fn validate(&self) -> Result<()> {
        let conv = self.as_conv();
        conv.validate().map_err(|e| match e {
            KernelError::BadConv { reason, .. } => KernelError::BadConv {
                shape: self.to_string(),
                reason,
            },
            other => other,
        })?;
        let grown = Conv2dShape {
            pad_bottom: conv.pad_bottom + conv.stride_h,
            pad_right: conv.pad_right + conv.stride_w,
            ..conv
        };
        grown.validate()
    }

    fn input_len(&self) -> usize {
        self.batch * self.channels * self.in_h * self.in_w
    }

    fn output_len(&self) -> usize {
        self.batch * self.channels * self.out_h() * self.out_w()
    }
}

impl std::fmt::Display for Pool2dShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pool {}x{}x{}x{}, window {}x{}, stride {}x{}, dilation {}x{}, pads (t{} l{} b{} r{}){}",
            self.batch,
            self.channels,
            self.in_h,
            self.in_w,
            self.kernel_h,
            self.kernel_w,
            self.stride_h,
            self.stride_w,
            self.dilation_h,
            self.dilation_w,
            self.pad_top,
            self.pad_left,
            self.pad_bottom,
            self.pad_right,
            if self.ceil_mode { ", ceil mode" } else { "" }
        )
    }
}

/// Taps of one axis inside the input (`valid`) and inside the padded input (`padded`), for
/// output position `o`.
fn tap_counts(
    o: usize,
    k: usize,
    s: usize,
    d: usize,
    begin: usize,
    input: usize,
    end: usize,
) -> (usize, usize) {
    let mut counts = (0, 0);
    for t in 0..k {
        let p = (o * s + t * d) as isize - begin as isize;
        counts.0 += usize::from(p >= 0 && p < input as isize);
        counts.1 += usize::from(p < (input + end) as isize);
    }
    counts
}

/// Pools NCHW `input` into NCHW `output` (`[batch, channels, out_h, out_w]`).
pub fn pool2d(
    shape: &Pool2dShape,
    kind: PoolKind,
    input: &[f32],
    output: &mut [f32],
) -> Result<()> {
    shape.validate()?;
    let s = shape;
    for (what, len, want) in [
        ("input", input.len(), s.input_len()),
        ("output", output.len(), s.output_len()),
    ] {
        if len != want {
            return Err(KernelError::BadConv {
                shape: s.to_string(),
                reason: format!("{what} has {len} values, expected {want}"),
            });
        }
    }
    let (oh, ow) = (s.out_h(), s.out_w());
    if oh == 0 || ow == 0 {
        return Ok(());
    }
    let plane_in = s.in_h * s.in_w;
    // Ranges of valid outputs per kernel column, as for the depthwise convolution.
    let offset = |j: usize| (j * s.dilation_w) as isize - s.pad_left as isize;
    let cols = |j: usize| crate::conv::valid_range_pub(ow, s.in_w, s.stride_w, offset(j));
    let init = match kind {
        PoolKind::Max => f32::NEG_INFINITY,
        PoolKind::Average { .. } => 0.0,
    };
    for (q, out_plane) in output.chunks_exact_mut(oh * ow).enumerate() {
        let x = &input[q * plane_in..(q + 1) * plane_in];
        for (oy, row) in out_plane.chunks_exact_mut(ow).enumerate() {
            row.fill(init);
            for i in 0..s.kernel_h {
                let iy = (oy * s.stride_h + i * s.dilation_h) as isize - s.pad_top as isize;
                if iy < 0 || iy >= s.in_h as isize {
                    continue;
                }
                let src = &x[iy as usize * s.in_w..][..s.in_w];
                for j in 0..s.kernel_w {
                    let xs = cols(j);
                    if xs.is_empty() {
                        continue;
                    }
                    let x0 = ((xs.start * s.stride_w) as isize + offset(j)) as usize;
                    let taps = src[x0..].iter().step_by(s.stride_w);
                    match kind {
                        PoolKind::Max => {
                            for (o, &v) in row[xs].iter_mut().zip(taps) {
                                *o = if v > *o || v.is_nan() { v } else { *o };
                            }
                        }
                        PoolKind::Average { .. } => {
                            for (o, &v) in row[xs].iter_mut().zip(taps) {
                                *o += v;
                            }
                        }
                    }
                }
            }
            if let PoolKind::Average { count_include_pad } = kind {
                let rows = tap_counts(
                    oy,
                    s.kernel_h,
                    s.stride_h,
                    s.dilation_h,
                    s.pad_top,
                    s.in_h,
                    s.pad_bottom,
                );
                for (ox, o) in row.iter_mut().enumerate() {
                    let c = tap_counts(
                        ox,
                        s.kernel_w,
                        s.stride_w,
                        s.dilation_w,
                        s.pad_left,
                        s.in_w,
                        s.pad_right,
                    );
                    let count = if count_include_pad {
                        rows.1 * c.1
                    } else {
                        rows.0 * c.0
                    };
                    *o /= count.max(1) as f32;
                }
            }
        }
    }
    Ok(())
}

/// Global pooling: each of the `output.len()` planes of `inner` values of `input` (NCHW with
/// `inner = H * W`) reduced to its maximum or mean.
pub fn global_pool(kind: PoolKind, input: &[f32], inner: usize, output: &mut [f32]) -> Result<()> {
    if inner == 0 || input.len() != output.len().saturating_mul(inner) {
        return Err(KernelError::BadConv {
            shape: format!("global pool of planes of {inner}"),
            reason: format!(
                "input has {} values for {} outputs",
                input.len(),
                output.len()
            ),
        });
    }
    for (o, plane) in output.iter_mut().zip(input.chunks_exact(inner)) {
        *o = match kind {
            PoolKind::Max => {
                if plane.iter().any(|v| v.is_nan()) {
                    f32::NAN
                } else {
                    max_lanes(plane)
                }
            }
            PoolKind::Average { .. } => sum_lanes(plane) / inner as f32,
        };
    }
    Ok(())
}
