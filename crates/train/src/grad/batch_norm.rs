//! BatchNormalization. Training mode (rewritten to `BatchNormTrain`): the full batch-statistics
//! gradient from the saved mean and inverse std. Eval mode (frozen statistics): an affine map,
//! `dX = dY * scale / sqrt(var + eps)`.

use super::GradCtx;
use crate::ops::batch_norm::{BatchNormGrad, BatchNormTrain};
use edgeopt_ir::ops::nn::batch_normalization::BatchNormalization;
use edgeopt_ir::{AttrList, Result, ValueId};
use edgeopt_tensor::Tensor;

pub fn grad(ctx: &mut GradCtx, dy: ValueId) -> Result<Vec<Option<ValueId>>> {
    let (x, scale) = (ctx.input(0)?, ctx.input(1)?);
    let (mean, inv, frozen) = if ctx.node.op.downcast_ref::<BatchNormTrain>().is_some() {
        (ctx.output(1)?, ctx.output(2)?, false)
    } else {
        let bn = ctx
            .node
            .op
            .downcast_ref::<BatchNormalization>()
            .ok_or_else(|| ctx.unsupported("not the IR op"))?;
        let eps = ctx.constant("eps", Tensor::scalar(bn.epsilon.unwrap_or(1e-5)));
        let (mean, var) = (ctx.input(3)?, ctx.input(4)?);
        let v = ctx.onnx("Add", AttrList::default(), &[var, eps])?;
        let s = ctx.onnx("Sqrt", AttrList::default(), &[v])?;
        (
            mean,
            ctx.onnx("Reciprocal", AttrList::default(), &[s])?,
            true,
        )
    };
    let outs = ctx.emit(
        Box::new(BatchNormGrad {
            frozen_stats: frozen,
        }),
        &[Some(dy), Some(x), Some(scale), Some(mean), Some(inv)],
        3,
    );
    let mut g = vec![None; ctx.node.inputs.len()];
    for k in 0..3 {
        if ctx.need(k) {
            g[k] = Some(outs[k]);
        }
    }
    Ok(g)
}
