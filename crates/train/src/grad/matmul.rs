//! MatMul (rank >= 2, batched with broadcasting): `dA = dY * B^T`, `dB = A^T * dY`, each summed
//! over the batch axes its operand was broadcast along.

use super::GradCtx;
use crate::ops::matmul_t::MatMulT;
use crate::ops::reduce_to::ReduceToShape;
use edgeopt_ir::{Result, ValueId};

pub fn grad(ctx: &mut GradCtx, dy: ValueId) -> Result<Vec<Option<ValueId>>> {
    let (a, b) = (ctx.input(0)?, ctx.input(1)?);
    for v in [a, b] {
        if ctx.graph.value(v).ty.shape().is_some_and(|s| s.len() < 2) {
            return Err(ctx.unsupported("1-D MatMul operands are not supported"));
        }
    }
    let mut g = vec![None; 2];
    if ctx.need(0) {
        let full = ctx.emit1(
            Box::new(MatMulT {
                trans_a: false,
                trans_b: true,
                alpha: 1.0,
            }),
            &[dy, b],
        );
        g[0] = Some(ctx.emit1(Box::new(ReduceToShape), &[full, a]));
    }
    if ctx.need(1) {
        let full = ctx.emit1(
            Box::new(MatMulT {
                trans_a: true,
                trans_b: false,
                alpha: 1.0,
            }),
            &[a, dy],
        );
        g[1] = Some(ctx.emit1(Box::new(ReduceToShape), &[full, b]));
    }
    Ok(g)
}
