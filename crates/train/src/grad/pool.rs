//! MaxPool (gradient to the first maximum of each window), AveragePool, GlobalAveragePool.

use super::GradCtx;
use crate::ops::pool_grad::{GlobalAveragePoolGrad, PoolGrad, PoolKind};
use edgeopt_ir::ops::nn::average_pool::AveragePool;
use edgeopt_ir::ops::nn::max_pool::MaxPool;
use edgeopt_ir::{Op, Result, ValueId};

pub fn grad(ctx: &mut GradCtx, dy: ValueId) -> Result<Vec<Option<ValueId>>> {
    if !ctx.need(0) {
        return Ok(vec![None]);
    }
    let x = ctx.input(0)?;
    let op: Box<dyn Op> = match ctx.node.op_type() {
        "MaxPool" => {
            let m = ctx
                .node
                .op
                .downcast_ref::<MaxPool>()
                .ok_or_else(|| ctx.unsupported("not the IR op"))?;
            if ctx.node.outputs.get(1).copied().flatten().is_some() {
                return Err(ctx.unsupported("MaxPool with an Indices output"));
            }
            Box::new(PoolGrad {
                pool: m.pool.clone(),
                kind: PoolKind::Max,
            })
        }
        "AveragePool" => {
            let a = ctx
                .node
                .op
                .downcast_ref::<AveragePool>()
                .ok_or_else(|| ctx.unsupported("not the IR op"))?;
            let include_pad = a.count_include_pad.unwrap_or(0) != 0;
            Box::new(PoolGrad {
                pool: a.pool.clone(),
                kind: PoolKind::Average { include_pad },
            })
        }
        _ => Box::new(GlobalAveragePoolGrad),
    };
    Ok(vec![Some(ctx.emit1(op, &[dy, x]))])
}
