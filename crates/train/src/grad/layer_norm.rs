//! LayerNormalization (Y output only): dX, dscale, dbias by `LayerNormGrad`.

use super::GradCtx;
use crate::ops::layer_norm_grad::LayerNormGrad;
use edgeopt_ir::ops::nn::layer_normalization::LayerNormalization;
use edgeopt_ir::{Result, ValueId};

pub fn grad(ctx: &mut GradCtx, dy: ValueId) -> Result<Vec<Option<ValueId>>> {
    let ln = ctx
        .node
        .op
        .downcast_ref::<LayerNormalization>()
        .cloned()
        .ok_or_else(|| ctx.unsupported("not the IR op"))?;
    let (x, scale) = (ctx.input(0)?, ctx.input(1)?);
    let op = LayerNormGrad {
        axis: ln.axis.unwrap_or(-1),
        epsilon: ln.epsilon.unwrap_or(1e-5),
    };
    let outs = ctx.emit(Box::new(op), &[Some(dy), Some(x), Some(scale)], 3);
    let mut g = vec![None; ctx.node.inputs.len()];
    for k in 0..3.min(g.len()) {
        if ctx.need(k) {
            g[k] = Some(outs[k]);
        }
    }
    Ok(g)
}
