//! Gather: gradients of the gathered slices are added back at their indices (embeddings).

use super::GradCtx;
use crate::ops::array_grad::GatherGrad;
use edgeopt_ir::ops::array::gather::Gather;
use edgeopt_ir::{Result, ValueId};

pub fn grad(ctx: &mut GradCtx, dy: ValueId) -> Result<Vec<Option<ValueId>>> {
    let axis = ctx
        .node
        .op
        .downcast_ref::<Gather>()
        .ok_or_else(|| ctx.unsupported("not the IR op"))?
        .axis;
    let mut g = vec![None; ctx.node.inputs.len()];
    if ctx.need(0) {
        let (data, idx) = (ctx.input(0)?, ctx.input(1)?);
        g[0] = Some(ctx.emit1(Box::new(GatherGrad { axis }), &[dy, idx, data]));
    }
    Ok(g)
}
