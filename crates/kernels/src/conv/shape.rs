//! The geometry of a 2-D convolution and its validation.

use std::fmt;

use crate::{KernelError, Result};

/// A 2-D convolution (ONNX `Conv` semantics) on NCHW tensors with OIHW weights
/// (`[out_channels, in_channels / groups, kernel_h, kernel_w]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Conv2dShape {
    /// Images per call (N).
    pub batch: usize,
    /// Input channels (C), a multiple of `groups`.
    pub in_channels: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Output channels (M), a multiple of `groups`.
    pub out_channels: usize,
    /// Kernel height.
    pub kernel_h: usize,
    /// Kernel width.
    pub kernel_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Vertical dilation.
    pub dilation_h: usize,
    /// Horizontal dilation.
    pub dilation_w: usize,
    /// Zero rows above the input.
    pub pad_top: usize,
    /// Zero columns left of the input.
    pub pad_left: usize,
    /// Zero rows below the input.
    pub pad_bottom: usize,
    /// Zero columns right of the input.
    pub pad_right: usize,
    /// Channel groups (`in_channels` for a depthwise convolution).
    pub groups: usize,
}

impl fmt::Display for Conv2dShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "conv {}x{}x{}x{} -> {} channels, kernel {}x{}, stride {}x{}, dilation {}x{}, \
             pads (t{} l{} b{} r{}), groups {}",
            self.batch,
            self.in_channels,
            self.in_h,
            self.in_w,
            self.out_channels,
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
            self.groups
        )
    }
}

/// Output length of one spatial axis, or `None` when the dilated kernel does not fit.
fn out_len(
    input: usize,
    pads: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
) -> Option<usize> {
    let span = kernel
        .checked_sub(1)?
        .checked_mul(dilation)?
        .checked_add(1)?;
    let padded = input.checked_add(pads)?;
    Some(padded.checked_sub(span)? / stride.max(1) + 1)
}

impl Conv2dShape {
    /// A convolution with unit strides and dilations, no padding and one group.
    pub fn simple(
        batch: usize,
        in_channels: usize,
        in_h: usize,
        in_w: usize,
        out_channels: usize,
        kernel: usize,
    ) -> Self {
        Conv2dShape {
            batch,
            in_channels,
            in_h,
            in_w,
            out_channels,
            kernel_h: kernel,
            kernel_w: kernel,
            stride_h: 1,
            stride_w: 1,
            dilation_h: 1,
            dilation_w: 1,
            groups: 1,
            ..Default::default()
        }
    }

    /// Output height (0 when the kernel does not fit; [`Conv2dShape::validate`] rejects that).
    pub fn out_h(&self) -> usize {
        out_len(
            self.in_h,
            self.pad_top.saturating_add(self.pad_bottom),
            self.kernel_h,
            self.stride_h,
            self.dilation_h,
        )
        .unwrap_or(0)
    }

    /// Output width (0 when the kernel does not fit).
    pub fn out_w(&self) -> usize {
        out_len(
            self.in_w,
            self.pad_left.saturating_add(self.pad_right),
            self.kernel_w,
            self.stride_w,
            self.dilation_w,
        )
        .unwrap_or(0)
    }

    fn error(&self, reason: impl Into<String>) -> KernelError {
        KernelError::BadConv {
            shape: self.to_string(),
            reason: reason.into(),
        }
    }

    /// Checks that the shape describes a convolution whose tensors are addressable: positive
    /// kernel, strides, dilations and groups, channels divisible by groups, a dilated kernel
    /// that fits the padded input, and element counts that fit in `usize`.
    pub fn validate(&self) -> Result<()> {
        let s = self;
        if s.kernel_h == 0 || s.kernel_w == 0 {
            return Err(self.error("kernel sizes must be positive"));
        }
        if s.stride_h == 0 || s.stride_w == 0 || s.dilation_h == 0 || s.dilation_w == 0 {
            return Err(self.error("strides and dilations must be positive"));
        }
        if s.groups == 0
            || !s.in_channels.is_multiple_of(s.groups)
            || !s.out_channels.is_multiple_of(s.groups)
        {
            return Err(self.error("groups must be positive and divide both channel counts"));
        }
        let fits =
            |input, pads: Option<usize>, k, st, d| pads.and_then(|p| out_len(input, p, k, st, d));
        let oh = fits(
            s.in_h,
            s.pad_top.checked_add(s.pad_bottom),
            s.kernel_h,
            s.stride_h,
            s.dilation_h,
        );
        let ow = fits(
            s.in_w,
            s.pad_left.checked_add(s.pad_right),
            s.kernel_w,
            s.stride_w,
            s.dilation_w,
        );
        if oh.is_none() || ow.is_none() {
            return Err(self.error("the dilated kernel is larger than the padded input"));
        }
        let counts = [
            checked_product(&[s.batch, s.in_channels, s.in_h, s.in_w]),
            checked_product(&[s.batch, s.out_channels, self.out_h(), self.out_w()]),
            checked_product(&[
                s.out_channels,
                s.in_channels / s.groups,
                s.kernel_h,
                s.kernel_w,
            ]),
            // The im2col matrix of one group, plus padding.
            checked_product(&[
                s.in_channels / s.groups,
                s.kernel_h,
                s.kernel_w,
                self.out_h() + 16,
                self.out_w() + 16,
            ]),
        ];
        if counts
            .iter()
            .any(|c| c.is_none_or(|c| c > isize::MAX as usize / 8))
        {
            return Err(self.error("tensors too large to address"));
        }
        Ok(())
    }

    /// Elements of the input tensor.
    pub fn input_len(&self) -> usize {
        self.batch * self.in_channels * self.in_h * self.in_w
    }

    /// Elements of the output tensor.
    pub fn output_len(&self) -> usize {
        self.batch * self.out_channels * self.out_h() * self.out_w()
    }

    /// Elements of the OIHW weight tensor.
    pub fn weight_len(&self) -> usize {
        self.out_channels * (self.in_channels / self.groups.max(1)) * self.kernel_h * self.kernel_w
    }

    /// Multiply-adds of one call (for GFLOP/s: 2 flops each).
    pub fn macs(&self) -> usize {
        self.output_len() * (self.in_channels / self.groups.max(1)) * self.kernel_h * self.kernel_w
    }

    /// Input channels per group.
    pub(crate) fn cin_g(&self) -> usize {
        self.in_channels / self.groups
    }

    /// Output channels per group.
    pub(crate) fn cout_g(&self) -> usize {
        self.out_channels / self.groups
    }

    /// Whether each group has one input and one output channel.
    pub(crate) fn is_depthwise(&self) -> bool {
        self.groups == self.in_channels && self.groups == self.out_channels
    }

    /// Whether every pad is zero.
    pub(crate) fn unpadded(&self) -> bool {
        self.pad_top == 0 && self.pad_left == 0 && self.pad_bottom == 0 && self.pad_right == 0
    }
}

fn checked_product(xs: &[usize]) -> Option<usize> {
    xs.iter().try_fold(1usize, |acc, &x| acc.checked_mul(x))
}

/// The positions `o < out` of one output axis whose input index `o * stride + offset` lies in
/// `0..input`, where `offset = k * dilation - pad` for kernel tap `k`.
pub(crate) fn valid_range(
    out: usize,
    input: usize,
    stride: usize,
    offset: isize,
) -> std::ops::Range<usize> {
    let (s, inp) = (stride as isize, input as isize);
    // o * s + offset >= 0  <=>  o >= ceil(-offset / s)
    let lo = if offset >= 0 {
        0
    } else {
        (-offset + s - 1) / s
    };
    // o * s + offset <= input - 1  <=>  o <= floor((input - 1 - offset) / s)
    let last = inp - 1 - offset;
    let hi = if last < 0 { 0 } else { last / s + 1 };
    let lo = (lo as usize).min(out);
    let hi = (hi as usize).clamp(lo, out);
    lo..hi
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_sizes_follow_onnx() {
        let mut s = Conv2dShape::simple(1, 3, 224, 224, 32, 3);
        s.stride_h = 2;
        s.stride_w = 2;
        s.pad_top = 1;
        s.pad_left = 1;
        s.pad_bottom = 1;
        s.pad_right = 1;
        assert_eq!((s.out_h(), s.out_w()), (112, 112));
        s.validate().unwrap();
        let mut d = Conv2dShape::simple(1, 1, 5, 5, 1, 3);
        d.dilation_h = 2;
        assert_eq!((d.out_h(), d.out_w()), (1, 3));
    }

    #[test]
    fn invalid_shapes_are_errors() {
        let ok = Conv2dShape::simple(1, 4, 8, 8, 4, 3);
        ok.validate().unwrap();
        let bad = [
            Conv2dShape { kernel_h: 0, ..ok },
            Conv2dShape { stride_w: 0, ..ok },
            Conv2dShape { groups: 3, ..ok },
            Conv2dShape { in_h: 2, ..ok },
            Conv2dShape {
                dilation_w: usize::MAX,
                ..ok
            },
            Conv2dShape {
                pad_top: usize::MAX,
                pad_bottom: 1,
                ..ok
            },
            Conv2dShape {
                batch: usize::MAX,
                ..ok
            },
        ];
        for s in bad {
            let e = s.validate().unwrap_err().to_string();
            assert!(e.contains("conv "), "{e}");
        }
    }

    #[test]
    fn valid_ranges() {
        // pad 1, kernel tap 0: input index o - 1 valid for o in 1..=5 of 6 outputs, input 5.
        assert_eq!(valid_range(6, 5, 1, -1), 1..6);
        assert_eq!(valid_range(6, 5, 1, 2), 0..3);
        assert_eq!(valid_range(3, 5, 2, -1), 1..3);
        assert_eq!(valid_range(3, 5, 2, 7), 0..0);
        assert_eq!(valid_range(3, 5, 2, -9), 3..3);
    }
}
