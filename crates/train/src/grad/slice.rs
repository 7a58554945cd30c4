//! Slice (opset 10+, bounds as inputs): dY placed into zeros shaped like X.

use super::GradCtx;
use crate::ops::array_grad::SliceGrad;
use edgeopt_ir::{Result, ValueId};

pub fn grad(ctx: &mut GradCtx, dy: ValueId) -> Result<Vec<Option<ValueId>>> {
    if ctx.opset < 10 {
        return Err(ctx.unsupported("Slice before opset 10 (attribute bounds)"));
    }
    let mut g = vec![None; ctx.node.inputs.len()];
    if ctx.need(0) {
        let mut ins = vec![Some(dy)];
        ins.extend(ctx.node.inputs.iter().copied());
        g[0] = Some(ctx.emit(Box::new(SliceGrad), &ins, 1)[0]);
    }
    Ok(g)
}
