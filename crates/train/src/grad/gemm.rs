//! Gemm `Y = alpha * op(A) * op(B) + beta * C`:
//! `dA = alpha * dY * op(B)^T` (transposed back if `transA`), `dB = alpha * op(A)^T * dY`
//! (transposed back if `transB`), `dC = beta * dY` summed over C's broadcast axes.

use super::GradCtx;
use crate::ops::matmul_t::MatMulT;
use crate::ops::reduce_to::ReduceToShape;
use edgeopt_ir::ops::linalg::gemm::Gemm;
use edgeopt_ir::{AttrList, Result, ValueId};
use edgeopt_tensor::Tensor;

fn mm(trans_a: bool, trans_b: bool, alpha: f32) -> Box<MatMulT> {
    Box::new(MatMulT {
        trans_a,
        trans_b,
        alpha,
    })
}

pub fn grad(ctx: &mut GradCtx, dy: ValueId) -> Result<Vec<Option<ValueId>>> {
    let gm = ctx
        .node
        .op
        .downcast_ref::<Gemm>()
        .cloned()
        .ok_or_else(|| ctx.unsupported("not the IR Gemm op"))?;
    let (a, b) = (ctx.input(0)?, ctx.input(1)?);
    let (ta, tb, alpha) = (gm.trans_a, gm.trans_b, gm.alpha);
    let mut g = vec![None; ctx.node.inputs.len()];
    if ctx.need(0) {
        g[0] = Some(if !ta {
            ctx.emit1(mm(false, !tb, alpha), &[dy, b])
        } else {
            ctx.emit1(mm(tb, true, alpha), &[b, dy])
        });
    }
    if ctx.need(1) {
        g[1] = Some(if !tb {
            ctx.emit1(mm(!ta, false, alpha), &[a, dy])
        } else {
            ctx.emit1(mm(true, ta, alpha), &[dy, a])
        });
    }
    if let (true, Some(c)) = (ctx.need(2), ctx.opt_input(2)) {
        let scaled = if gm.beta == 1.0 {
            dy
        } else {
            let beta = ctx.constant("beta", Tensor::scalar(gm.beta));
            ctx.onnx("Mul", AttrList::default(), &[dy, beta])?
        };
        g[2] = Some(ctx.emit1(Box::new(ReduceToShape), &[scaled, c]));
    }
    Ok(g)
}
