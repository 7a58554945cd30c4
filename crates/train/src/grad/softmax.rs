//! Softmax / LogSoftmax, from the forward output.

use super::GradCtx;
use crate::ops::softmax_grad::SoftmaxGrad;
use edgeopt_ir::ops::activation::softmax::Softmax;
use edgeopt_ir::{Result, ValueId};

pub fn grad(ctx: &mut GradCtx, dy: ValueId) -> Result<Vec<Option<ValueId>>> {
    if !ctx.need(0) {
        return Ok(vec![None]);
    }
    let s = ctx
        .node
        .op
        .downcast_ref::<Softmax>()
        .cloned()
        .ok_or_else(|| ctx.unsupported("not the IR op"))?;
    let y = ctx.output(0)?;
    let op = SoftmaxGrad {
        axis: s.axis.axis,
        log: s.log,
        flatten: s.axis.coerce_2d,
    };
    Ok(vec![Some(ctx.emit1(Box::new(op), &[dy, y]))])
}
