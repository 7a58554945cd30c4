//! FusedElementwise (a chain of element-wise steps on one tensor) in tiles: every step runs
//! on a tile of the input that stays in L1 (`edgeopt_kernels::elementwise` vector kernels),
//! so the chain makes one pass over memory. Covered: unary activations and math, and binary
//! steps between chain values or with scalar constants; anything else stays on the reference.

use super::LowerCtx;
use crate::{Io, Kernel, Result};
use edgeopt_ir::{Attribute, Op};
use edgeopt_kernels::elementwise::{binary, unary, Binary, Rhs, Unary};
use edgeopt_passes::ops::fused_elementwise::{Arg, FusedElementwise};

/// Floats per tile and step.
const TILE: usize = 512;

/// A chain value: the node's input or an earlier step's tile.
#[derive(Clone, Copy)]
enum Src {
    Input,
    Step(usize),
}

enum Compute {
    Unary(Unary, Src),
    Binary(Binary, Src, Src),
    /// `a op s`.
    Scalar(Binary, Src, f32),
    /// `s op a`.
    ScalarFirst(Binary, f32, Src),
}

struct Chain {
    steps: Vec<Compute>,
    inplace: bool,
}

impl Kernel for Chain {
    fn name(&self) -> &'static str {
        "elementwise.fused"
    }

    fn scratch_len(&self) -> usize {
        (self.steps.len() + 1) * TILE
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        // In place, input 0 is empty and its data is in the output: each tile of it is
        // copied to scratch slot 0 before the steps (slots 1..) overwrite the output tile.
        let x = io.input(0);
        let (y, scratch) = io.output_and_scratch();
        let last = self.steps.len();
        for (t, out) in y.chunks_mut(TILE).enumerate() {
            let n = out.len();
            if self.inplace {
                scratch[..n].copy_from_slice(out);
            } else {
                scratch[..n].copy_from_slice(&x[t * TILE..t * TILE + n]);
            }
            for (k, c) in self.steps.iter().enumerate() {
                let (done, rest) = scratch.split_at_mut((k + 1) * TILE);
                let dst = &mut rest[..n];
                let get = |s: Src| match s {
                    Src::Input => &done[..n],
                    Src::Step(j) => &done[(j + 1) * TILE..(j + 1) * TILE + n],
                };
                match *c {
                    Compute::Unary(op, a) => unary(op, get(a), dst)?,
                    Compute::Binary(op, a, b) => binary(op, get(a), Rhs::Same(get(b)), dst)?,
                    Compute::Scalar(op, a, s) => binary(op, get(a), Rhs::Scalar(s), dst)?,
                    Compute::ScalarFirst(op, s, a) => binary(op, get(a), Rhs::ScalarFirst(s), dst)?,
                }
            }
            out.copy_from_slice(&scratch[last * TILE..last * TILE + n]);
        }
        Ok(())
    }
}

fn float(op: &dyn Op, name: &str, default: f32) -> f32 {
    op.attributes()
        .into_iter()
        .find_map(|(k, a)| match a {
            Attribute::Float(v) if k == name => Some(v),
            _ => None,
        })
        .unwrap_or(default)
}

fn unary_of(op: &dyn Op) -> Option<Unary> {
    Some(match op.op_type() {
        "Relu" => Unary::Relu,
        "Sigmoid" => Unary::Sigmoid,
        "Tanh" => Unary::Tanh,
        "Exp" => Unary::Exp,
        "Erf" => Unary::Erf,
        "Neg" => Unary::Neg,
        "Abs" => Unary::Abs,
        "HardSwish" => Unary::HardSwish,
        "LeakyRelu" => Unary::LeakyRelu {
            alpha: float(op, "alpha", 0.01),
        },
        "HardSigmoid" => Unary::HardSigmoid {
            alpha: float(op, "alpha", 0.2),
            beta: float(op, "beta", 0.5),
        },
        _ => return None,
    })
}

fn binary_of(op_type: &str) -> Option<Binary> {
    Some(match op_type {
        "Add" => Binary::Add,
        "Sub" => Binary::Sub,
        "Mul" => Binary::Mul,
        "Div" => Binary::Div,
        "Max" => Binary::Max,
        "Min" => Binary::Min,
        _ => return None,
    })
}

enum Operand {
    Value(Src),
    Scalar(f32),
}

fn operand(a: &Option<Arg>, step: usize) -> Option<Operand> {
    match a.as_ref()? {
        Arg::Input => Some(Operand::Value(Src::Input)),
        Arg::Step(j) if *j < step => Some(Operand::Value(Src::Step(*j))),
        Arg::Step(_) => None,
        Arg::Const(t) if t.len() == 1 => Some(Operand::Scalar(*t.as_slice::<f32>().ok()?.first()?)),
        Arg::Const(_) => None,
    }
}

pub fn lower(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let Some(f) = ctx.op().downcast_ref::<FusedElementwise>() else {
        return Ok(None);
    };
    let (Some(x), Some(y)) = (ctx.input(0), ctx.output(0)) else {
        return Ok(None);
    };
    if !ctx.all_f32()
        || x.shape != y.shape
        || f.steps.is_empty()
        || ctx.inplace.is_some_and(|k| k != 0)
    {
        return Ok(None);
    }
    let mut steps = Vec::with_capacity(f.steps.len());
    for (k, s) in f.steps.iter().enumerate() {
        let ops: Option<Vec<Operand>> = s.args.iter().map(|a| operand(a, k)).collect();
        let Some(ops) = ops else {
            return Ok(None);
        };
        let c = match (
            unary_of(s.op.as_ref()),
            binary_of(s.op.op_type()),
            ops.as_slice(),
        ) {
            (Some(u), _, [Operand::Value(a)]) => Compute::Unary(u, *a),
            (_, Some(b), [Operand::Value(a), Operand::Value(c)]) => Compute::Binary(b, *a, *c),
            (_, Some(b), [Operand::Value(a), Operand::Scalar(v)]) => Compute::Scalar(b, *a, *v),
            (_, Some(b), [Operand::Scalar(v), Operand::Value(a)]) => {
                Compute::ScalarFirst(b, *v, *a)
            }
            _ => return Ok(None),
        };
        steps.push(c);
    }
    Ok(Some(Box::new(Chain {
        steps,
        inplace: ctx.inplace.is_some(),
    })))
}
