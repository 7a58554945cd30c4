//! Conv: `dX = ConvGradInput(dY, W)`, `dW = ConvGradWeight(dY, X)`, `dB = sum of dY over N and
//! the spatial axes`. Covers groups (depthwise), strides, pads and dilations.

use super::GradCtx;
use crate::ops::conv_grad::{ConvGradInput, ConvGradWeight};
use crate::ops::reduce_to::BiasGrad;
use edgeopt_ir::ops::nn::conv::Conv;
use edgeopt_ir::{Result, ValueId};

pub fn grad(ctx: &mut GradCtx, dy: ValueId) -> Result<Vec<Option<ValueId>>> {
    let conv = ctx
        .node
        .op
        .downcast_ref::<Conv>()
        .cloned()
        .ok_or_else(|| ctx.unsupported("not the IR Conv op"))?;
    let (x, w) = (ctx.input(0)?, ctx.input(1)?);
    let mut g = vec![None; ctx.node.inputs.len()];
    if ctx.need(0) {
        g[0] = Some(ctx.emit1(Box::new(ConvGradInput { conv: conv.clone() }), &[dy, w, x]));
    }
    if ctx.need(1) {
        g[1] = Some(ctx.emit1(Box::new(ConvGradWeight { conv }), &[dy, x, w]));
    }
    if ctx.need(2) && ctx.opt_input(2).is_some() {
        g[2] = Some(ctx.emit1(Box::new(BiasGrad), &[dy]));
    }
    Ok(g)
}
