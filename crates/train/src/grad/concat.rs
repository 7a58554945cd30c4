//! Concat: each input gets its own part of dY.

use super::GradCtx;
use crate::ops::array_grad::ConcatGrad;
use edgeopt_ir::ops::array::concat::Concat;
use edgeopt_ir::{Result, ValueId};

pub fn grad(ctx: &mut GradCtx, dy: ValueId) -> Result<Vec<Option<ValueId>>> {
    let axis = ctx
        .node
        .op
        .downcast_ref::<Concat>()
        .ok_or_else(|| ctx.unsupported("not the IR op"))?
        .axis;
    let mut ins = vec![dy];
    for i in 0..ctx.node.inputs.len() {
        ins.push(ctx.input(i)?);
    }
    let mut g = vec![None; ctx.node.inputs.len()];
    for (index, slot) in g.iter_mut().enumerate() {
        if ctx.needs[index] {
            *slot = Some(ctx.emit1(Box::new(ConcatGrad { axis, index }), &ins));
        }
    }
    Ok(g)
}
