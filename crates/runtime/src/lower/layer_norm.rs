//! LayerNormalization over the trailing axes `axis..` of f32 data onto
//! `edgeopt_kernels::norm::layer_norm`, when Scale (and B) hold one value per normalized
//! element and the Mean / InvStdDev outputs are not used.

use super::LowerCtx;
use crate::{Io, Kernel, Result};
use edgeopt_ir::ops::nn::layer_normalization::LayerNormalization;

struct LayerNorm {
    epsilon: f32,
    has_bias: bool,
}

impl Kernel for LayerNorm {
    fn name(&self) -> &'static str {
        "norm.layer"
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let (x, gamma) = (io.input(0), io.input(1));
        let beta = self.has_bias.then(|| io.input(2));
        Ok(edgeopt_kernels::norm::layer_norm(
            x,
            gamma,
            beta,
            self.epsilon,
            io.output(0),
        )?)
    }
}

pub fn lower(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let Some(op) = ctx.op().downcast_ref::<LayerNormalization>() else {
        return Ok(None);
    };
    let (Some(x), Some(scale)) = (ctx.input(0), ctx.input(1)) else {
        return Ok(None);
    };
    let stats_used = ctx.node.outputs.iter().skip(1).any(|o| o.is_some());
    if !ctx.all_f32() || stats_used || x.shape.is_empty() {
        return Ok(None);
    }
    let rank = x.shape.len() as i64;
    let axis = op.axis.unwrap_or(-1);
    let axis = if axis < 0 { axis + rank } else { axis };
    if !(0..rank).contains(&axis) {
        return Ok(None);
    }
    let inner: usize = x.shape[axis as usize..].iter().product();
    let bias = ctx.input(2);
    if inner == 0 || scale.numel() != inner || bias.is_some_and(|b| b.numel() != inner) {
        return Ok(None);
    }
    let epsilon = op.epsilon.unwrap_or(1e-5);
    if epsilon.is_nan() || epsilon < 0.0 {
        return Ok(None);
    }
    Ok(Some(Box::new(LayerNorm {
        epsilon,
        has_bias: bias.is_some(),
    })))
}
