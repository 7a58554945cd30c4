//! Element-wise activations: `dX = dY * f'(X)` (Clip's bounds must be constants).

use super::GradCtx;
use crate::ops::activation_grad::{Act, ActivationGrad};
use edgeopt_ir::ops::activation::hard_sigmoid::HardSigmoid;
use edgeopt_ir::ops::activation::leaky_relu::LeakyRelu;
use edgeopt_ir::{Result, ValueId};

fn clip_bound(ctx: &GradCtx, i: usize, default: f32) -> Result<f32> {
    if ctx.opt_input(i).is_none() {
        return Ok(default);
    }
    let t = ctx
        .const_input(i)
        .ok_or_else(|| ctx.unsupported("Clip bounds must be constants"))?;
    let v = t.to_f64_vec()?;
    v.first()
        .map(|&x| x as f32)
        .ok_or_else(|| ctx.unsupported("empty Clip bound"))
}

pub fn grad(ctx: &mut GradCtx, dy: ValueId) -> Result<Vec<Option<ValueId>>> {
    let act = match ctx.node.op_type() {
        "Relu" => Act::Relu,
        "Sigmoid" => Act::Sigmoid,
        "Tanh" => Act::Tanh,
        "HardSwish" => Act::HardSwish,
        "LeakyRelu" => Act::LeakyRelu(
            ctx.node
                .op
                .downcast_ref::<LeakyRelu>()
                .map_or(0.01, |l| l.alpha),
        ),
        "HardSigmoid" => {
            let h = ctx
                .node
                .op
                .downcast_ref::<HardSigmoid>()
                .ok_or_else(|| ctx.unsupported("not the IR op"))?;
            Act::HardSigmoid {
                alpha: h.alpha,
                beta: h.beta,
            }
        }
        "Clip" => {
            if ctx.opset < 11 {
                return Err(
                    ctx.unsupported("Clip before opset 11 (attribute bounds) is not supported")
                );
            }
            Act::Clip {
                min: clip_bound(ctx, 1, f32::NEG_INFINITY)?,
                max: clip_bound(ctx, 2, f32::INFINITY)?,
            }
        }
        _ => return Err(ctx.unsupported("not an activation")),
    };
    let mut g = vec![None; ctx.node.inputs.len()];
    if ctx.need(0) {
        let x = ctx.input(0)?;
        g[0] = Some(ctx.emit1(Box::new(ActivationGrad { act }), &[dy, x]));
    }
    Ok(g)
}
