//! 2-D convolutions with constant weights on `edgeopt_kernels::conv::PackedConv`: the weights
//! are packed once at load for the algorithm the kernels crate measured fastest for the shape
//! (pointwise GEMM, im2col + GEMM, depthwise, Winograd F(2x2,3x3)). Convolutions whose weights
//! are graph inputs (training graphs) stay on `conv::Im2colConv`, which reads them every run.

use super::act::PostActivation;
use super::conv::Geometry;
use crate::{Io, Kernel, Result};
use edgeopt_kernels::conv::{Conv2dShape, ConvAlgo, PackedConv};

pub struct PackedConvKernel {
    conv: PackedConv,
    act: PostActivation,
    /// Output pixels per channel and channels, for the separate activation pass.
    plane: usize,
    channels: usize,
}

impl PackedConvKernel {
    /// `None` when the kernels crate refuses the shape (the caller falls back).
    pub fn new(
        g: &Geometry,
        pad_bottom: usize,
        pad_right: usize,
        weights: &[f32],
        bias: Option<&[f32]>,
        act: PostActivation,
    ) -> Option<PackedConvKernel> {
        let shape = Conv2dShape {
            batch: g.batch,
            in_channels: g.in_c,
            in_h: g.in_h,
            in_w: g.in_w,
            out_channels: g.out_c,
            kernel_h: g.kernel_h,
            kernel_w: g.kernel_w,
            stride_h: g.stride_h,
            stride_w: g.stride_w,
            dilation_h: g.dilation_h,
            dilation_w: g.dilation_w,
            pad_top: g.pad_top,
            pad_left: g.pad_left,
            pad_bottom,
            pad_right,
            groups: g.groups,
        };
        if shape.out_h() != g.out_h || shape.out_w() != g.out_w {
            return None;
        }
        let conv = PackedConv::new(&shape, weights, bias, act.fused, ConvAlgo::Auto).ok()?;
        Some(PackedConvKernel {
            conv,
            act,
            plane: g.out_h * g.out_w,
            channels: g.out_c,
        })
    }
}

impl Kernel for PackedConvKernel {
    fn name(&self) -> &'static str {
        match self.conv.algo() {
            ConvAlgo::Pointwise => "conv.pointwise",
            ConvAlgo::Depthwise => "conv.depthwise",
            ConvAlgo::Winograd => "conv.winograd",
            ConvAlgo::Direct => "conv.direct",
            ConvAlgo::Thin => "conv.thin",
            // The transposed product is the same unfolding and multiply-adds; one key keeps
            // the host cost model's per-kernel fits (`edgeopt-hw`) meaningful.
            ConvAlgo::Im2colGemm | ConvAlgo::Im2colTransposed | ConvAlgo::Auto => "conv.im2col",
        }
    }

    fn scratch_len(&self) -> usize {
        self.conv.scratch_len()
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let x = io.input(0);
        let threads = io.threads;
        let len = self.conv.scratch_len();
        let (y, scratch) = io.output_and_scratch();
        self.conv.run(x, y, &mut scratch[..len], threads)?;
        self.act.apply_post(y, self.plane, self.channels);
        Ok(())
    }
}
