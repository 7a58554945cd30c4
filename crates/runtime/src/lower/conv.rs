//! Conv and FusedConv (1-D and 2-D, groups, pads incl. auto_pad, dilations, fused bias and
//! activation). Depthwise convolutions go to a direct kernel (`depthwise`); the others are
//! `W_g * im2col(X_g)` GEMMs with the bias and activation fused into the GEMM's store
//! (pointwise 1x1 convolutions read X as the im2col matrix directly). Weights may be graph
//! inputs (training graphs): they are read every run.

use super::act::PostActivation;
pub(crate) use super::conv_geometry::{im2col, Geometry};
use super::depthwise::Depthwise;
use super::LowerCtx;
use crate::{Io, Kernel, Result};
use edgeopt_ir::ops::nn::conv::Conv;
use edgeopt_kernels::{gemm, Bias, GemmParams, MatMut, MatRef};
use edgeopt_passes::ops::fused_conv::FusedConv;

struct Im2colConv {
    g: Geometry,
    /// Constant weights `[M, C/g * kh * kw]` (None: read input 1).
    weights: Option<Vec<f32>>,
    /// Constant bias (None: input 2 if present).
    bias: Option<Vec<f32>>,
    act: PostActivation,
}

impl Kernel for Im2colConv {
    fn name(&self) -> &'static str {
        if self.g.pointwise() {
            "conv.pointwise"
        } else {
            "conv.im2col"
        }
    }

    fn scratch_len(&self) -> usize {
        let g = &self.g;
        if g.pointwise() {
            0
        } else {
            g.in_c / g.groups * g.kernel_h * g.kernel_w * g.out_h * g.out_w
        }
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let g = self.g;
        let x = io.input(0);
        let w = self.weights.as_deref().unwrap_or(io.input(1));
        let bias = self.bias.as_deref().unwrap_or(io.input(2));
        let threads = io.threads;
        let (cg, mg) = (g.in_c / g.groups, g.out_c / g.groups);
        let (plane, p) = (g.in_h * g.in_w, g.out_h * g.out_w);
        let k = cg * g.kernel_h * g.kernel_w;
        let pointwise = g.pointwise();
        let (y, scratch) = io.output_and_scratch();
        for img in 0..g.batch {
            for grp in 0..g.groups {
                let xg = &x[(img * g.in_c + grp * cg) * plane..][..cg * plane];
                let b = if pointwise {
                    MatRef::row_major(xg, k, p)?
                } else {
                    let cols = &mut scratch[..k * p];
                    im2col(&g, xg, cg, cols);
                    MatRef::row_major(cols, k, p)?
                };
                let params = GemmParams {
                    bias: if bias.is_empty() {
                        Bias::None
                    } else {
                        Bias::PerRow(&bias[grp * mg..(grp + 1) * mg])
                    },
                    activation: self.act.fused,
                    threads,
                    ..GemmParams::default()
                };
                let a = MatRef::row_major(&w[grp * mg * k..(grp + 1) * mg * k], mg, k)?;
                let yg = &mut y[(img * g.out_c + grp * mg) * p..][..mg * p];
                gemm(&params, a, b, MatMut::row_major(yg, mg, p)?)?;
            }
        }
        self.act.apply_post(y, p, g.out_c);
        Ok(())
    }
}

pub fn lower(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let (conv, act) = if let Some(f) = ctx.op().downcast_ref::<FusedConv>() {
        (&f.conv, Some(&f.activation))
    } else if let Some(c) = ctx.op().downcast_ref::<Conv>() {
        (c, None)
    } else {
        return Ok(None);
    };
    let (Some(x), Some(w), Some(_)) = (ctx.input(0), ctx.input(1), ctx.output(0)) else {
        return Ok(None);
    };
    if !ctx.all_f32() || !(3..=4).contains(&x.shape.len()) {
        return Ok(None);
    }
    let Some((g, pad_bottom, pad_right, _)) = Geometry::of_conv(conv, &x.shape, &w.shape) else {
        return Ok(None);
    };
    let weight_const = ctx.konst(1).map(|t| t.as_slice::<f32>()).transpose()?;
    let bias_const = ctx.konst(2).map(|t| t.as_slice::<f32>()).transpose()?;
    if ctx.input(2).is_some_and(|b| b.numel() != g.out_c) {
        return Ok(None);
    }
    let act = PostActivation::new(act);
    // A bias that is a graph input (not constant) keeps the per-run path too.
    let bias_known = bias_const.is_some() || ctx.input(2).is_none();
    if let (Some(w), true) = (weight_const, bias_known) {
        // Packed straight from the constants (often views of the model file): no copy.
        let packed = super::packed_conv::PackedConvKernel::new(
            &g,
            pad_bottom,
            pad_right,
            w,
            bias_const,
            act.clone(),
        );
        if let Some(k) = packed {
            return Ok(Some(Box::new(k)));
        }
    }
    let weights = weight_const.map(<[f32]>::to_vec);
    let bias = bias_const.map(<[f32]>::to_vec);
    if g.groups == g.in_c && g.groups == g.out_c && g.groups > 1 {
        return Ok(Some(Box::new(Depthwise::new(g, weights, bias, act))));
    }
    Ok(Some(Box::new(Im2colConv {
        g,
        weights,
        bias,
        act,
    })))
}
