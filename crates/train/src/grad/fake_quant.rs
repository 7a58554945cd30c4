//! FakeQuant: straight-through estimator, `dX = dY` inside the clip range, 0 outside.

use super::GradCtx;
use crate::ops::fake_quant::{FakeQuant, FakeQuantGrad};
use edgeopt_ir::{Result, ValueId};

pub fn grad(ctx: &mut GradCtx, dy: ValueId) -> Result<Vec<Option<ValueId>>> {
    let fq = ctx
        .node
        .op
        .downcast_ref::<FakeQuant>()
        .cloned()
        .ok_or_else(|| ctx.unsupported("not the train op"))?;
    let mut g = vec![None; ctx.node.inputs.len()];
    if ctx.need(0) {
        let (x, s, z) = (ctx.input(0)?, ctx.input(1)?, ctx.input(2)?);
        g[0] = Some(ctx.emit1(Box::new(FakeQuantGrad { fq }), &[dy, x, s, z]));
    }
    Ok(g)
}
