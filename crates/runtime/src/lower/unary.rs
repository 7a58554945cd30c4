//! Element-wise functions of one f32 tensor, in place when the plan allows: the activations
//! through the kernels' vectorized `activate`, the rest as scalar loops.

use super::LowerCtx;
use crate::{Io, Kernel, Result};
use edgeopt_kernels::{kernels, Activation};

/// The op types lowered here.
pub const OPS: [&str; 11] = [
    "Relu",
    "Clip",
    "Sigmoid",
    "HardSigmoid",
    "HardSwish",
    "LeakyRelu",
    "Tanh",
    "Neg",
    "Abs",
    "Exp",
    "Sqrt",
];

#[derive(Clone, Copy)]
enum Func {
    Act(Activation),
    Tanh,
    Neg,
    Abs,
    Exp,
    Sqrt,
}

struct Unary {
    f: Func,
    inplace: bool,
}

impl Kernel for Unary {
    fn name(&self) -> &'static str {
        match self.f {
            Func::Act(_) => "unary.activation",
            _ => "unary",
        }
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let x = io.input(0);
        let y = io.output(0);
        if !self.inplace {
            y.copy_from_slice(x);
        }
        let scalar = |f: fn(f32) -> f32, y: &mut [f32]| y.iter_mut().for_each(|v| *v = f(*v));
        match self.f {
            Func::Act(a) => kernels().activate(y, a)?,
            Func::Tanh => scalar(f32::tanh, y),
            Func::Neg => scalar(|v| -v, y),
            Func::Abs => scalar(f32::abs, y),
            Func::Exp => scalar(f32::exp, y),
            Func::Sqrt => scalar(f32::sqrt, y),
        }
        Ok(())
    }
}

fn float(ctx: &LowerCtx, name: &str, default: f32) -> f32 {
    match ctx.attr(name) {
        Some(edgeopt_ir::Attribute::Float(v)) => v,
        _ => default,
    }
}

/// A Clip bound: attribute (opset < 11) or constant scalar input.
fn bound(ctx: &LowerCtx, attr: &str, input: usize, inf: f32) -> Option<f32> {
    if let Some(edgeopt_ir::Attribute::Float(v)) = ctx.attr(attr) {
        return Some(v);
    }
    match ctx.node.inputs.get(input).copied().flatten() {
        None => Some(inf),
        Some(_) => {
            let t = ctx.konst(input)?;
            (t.len() == 1).then(|| t.as_slice::<f32>().ok()?.first().copied())?
        }
    }
}

pub fn lower(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let (Some(x), Some(y)) = (ctx.input(0), ctx.output(0)) else {
        return Ok(None);
    };
    if !ctx.all_f32() || x.shape != y.shape {
        return Ok(None);
    }
    let op = ctx.op().op_type();
    let f = match op {
        "Relu" => Func::Act(Activation::Relu),
        "Sigmoid" => Func::Act(Activation::Sigmoid),
        "HardSwish" => Func::Act(Activation::HardSwish),
        "HardSigmoid" => Func::Act(Activation::HardSigmoid {
            alpha: float(ctx, "alpha", 0.2),
            beta: float(ctx, "beta", 0.5),
        }),
        "LeakyRelu" => Func::Act(Activation::LeakyRelu {
            alpha: float(ctx, "alpha", 0.01),
        }),
        "Clip" => {
            let (Some(min), Some(max)) = (
                bound(ctx, "min", 1, f32::NEG_INFINITY),
                bound(ctx, "max", 2, f32::INFINITY),
            ) else {
                return Ok(None);
            };
            let a = Activation::Clip { min, max };
            if a.validate().is_err() {
                return Ok(None);
            }
            Func::Act(a)
        }
        "Tanh" => Func::Tanh,
        "Neg" => Func::Neg,
        "Abs" => Func::Abs,
        "Exp" => Func::Exp,
        "Sqrt" => Func::Sqrt,
        _ => return Ok(None),
    };
    if let Func::Act(a) = f {
        if a.validate().is_err() {
            return Ok(None);
        }
    }
    Ok(Some(Box::new(Unary {
        f,
        inplace: ctx.inplace == Some(0),
    })))
}
