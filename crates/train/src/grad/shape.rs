//! Shape-only ops. Reshape / Flatten / Squeeze / Unsqueeze: `dX = ReshapeLike(dY, X)`.
//! Transpose: `dX = Transpose(dY, inverse perm)`. Identity: `dX = dY`.

use super::GradCtx;
use edgeopt_ir::ops::array::transpose::Transpose;
use edgeopt_ir::{AttrList, Result, ValueId};

pub fn grad(ctx: &mut GradCtx, dy: ValueId) -> Result<Vec<Option<ValueId>>> {
    let mut g = vec![None; ctx.node.inputs.len()];
    if !ctx.need(0) {
        return Ok(g);
    }
    let x = ctx.input(0)?;
    g[0] =
        Some(match ctx.node.op_type() {
            "Identity" => dy,
            "Transpose" => {
                let t = ctx
                    .node
                    .op
                    .downcast_ref::<Transpose>()
                    .cloned()
                    .ok_or_else(|| ctx.unsupported("not the IR op"))?;
                let perm =
                    match t.perm {
                        Some(p) => p,
                        None => {
                            let r = ctx.graph.value(x).ty.shape().map(|s| s.len()).ok_or_else(
                                || ctx.unsupported("Transpose without perm needs a known rank"),
                            )?;
                            (0..r as i64).rev().collect()
                        }
                    };
                let mut inv = vec![0i64; perm.len()];
                for (i, &p) in perm.iter().enumerate() {
                    let slot = usize::try_from(p)
                        .ok()
                        .and_then(|p| inv.get_mut(p))
                        .ok_or_else(|| ctx.unsupported("bad perm"))?;
                    *slot = i as i64;
                }
                ctx.onnx("Transpose", AttrList::default().ints("perm", &inv), &[dy])?
            }
            _ => ctx.emit1(Box::new(crate::ops::reshape_like::ReshapeLike), &[dy, x]),
        });
    Ok(g)
}
