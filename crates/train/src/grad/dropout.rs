//! Dropout. Training (`DropoutTrain`): `dX = dY * mask` (the mask carries the 1/(1-p) scale).
//! Inference-mode Dropout is the identity.

use super::GradCtx;
use edgeopt_ir::{AttrList, Result, ValueId};

pub fn grad(ctx: &mut GradCtx, dy: ValueId) -> Result<Vec<Option<ValueId>>> {
    let mut g = vec![None; ctx.node.inputs.len()];
    if ctx.need(0) {
        g[0] = Some(if ctx.node.op_type() == "DropoutTrain" {
            let mask = ctx.output(1)?;
            ctx.onnx("Mul", AttrList::default(), &[dy, mask])?
        } else {
            dy
        });
    }
    Ok(g)
}
