//! Data movement ops (Slice, Pad, nearest Resize, Tile, Expand, Gather with constant indices,
//! DepthToSpace, SpaceToDepth) as a gather precomputed at lowering: the op's own reference
//! `eval` runs once on a tensor of element indices, so every output element knows which input
//! element (or the pad value) it copies, with exactly the op's semantics. Runs of consecutive
//! indices become slice copies (Slice and Pad are mostly runs); the rest an indexed gather.

use super::LowerCtx;
use crate::{Io, Kernel, Result};
use edgeopt_ir::exec::Scope;
use edgeopt_ir::op::{EvalCtx, Inputs};
use edgeopt_ir::{Graph, Value};
use edgeopt_tensor::{DType, Tensor};

/// Largest output (elements) given a precomputed map.
const MAX_MAP: usize = 1 << 24;
/// Index of an output element that takes the pad value.
const PAD: u32 = u32::MAX;

/// A run of `len` output elements copied from `src..src + len` (or the pad value).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Run {
    src: u32,
    len: u32,
}

enum Plan {
    Runs(Vec<Run>),
    Gather(Vec<u32>),
}

struct GatherMap {
    plan: Plan,
    pad: f32,
}

impl Kernel for GatherMap {
    fn name(&self) -> &'static str {
        match self.plan {
            Plan::Runs(_) => "move.runs",
            Plan::Gather(_) => "move.gather",
        }
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let x = io.input(0);
        let y = io.output(0);
        match &self.plan {
            Plan::Runs(runs) => {
                let mut o = 0;
                for r in runs {
                    let (s, n) = (r.src as usize, r.len as usize);
                    let dst = &mut y[o..o + n];
                    if r.src == PAD {
                        dst.fill(self.pad);
                    } else {
                        dst.copy_from_slice(&x[s..s + n]);
                    }
                    o += n;
                }
            }
            Plan::Gather(map) => {
                for (out, &i) in y.iter_mut().zip(map) {
                    *out = if i == PAD { self.pad } else { x[i as usize] };
                }
            }
        }
        Ok(())
    }
}

/// Consecutive indices merged into runs.
fn runs(map: &[u32]) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    for &i in map {
        if let Some(last) = out.last_mut() {
            let next = if last.src == PAD {
                PAD
            } else {
                last.src + last.len
            };
            if i == next {
                last.len += 1;
                continue;
            }
        }
        out.push(Run { src: i, len: 1 });
    }
    out
}

/// Whether the node moves elements without computing on them (per its attributes).
fn moves_only(ctx: &LowerCtx) -> bool {
    match ctx.op().op_type() {
        "Resize" | "Upsample" => match ctx.attr("mode") {
            None => true,
            Some(edgeopt_ir::Attribute::String(m)) => m == b"nearest",
            Some(_) => false,
        },
        // Before opset 11 the pad value is an attribute the index eval would write.
        "Pad" => ctx.opset >= 11,
        _ => true,
    }
}

pub fn lower(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let (Some(x), Some(y)) = (ctx.input(0), ctx.output(0)) else {
        return Ok(None);
    };
    let four_bytes = |d: DType| matches!(d, DType::F32 | DType::I32 | DType::U32);
    if !four_bytes(x.dtype)
        || x.dtype != y.dtype
        || ctx.node.outputs.len() != 1
        || x.numel() >= PAD as usize
        || y.numel() > MAX_MAP
        || !moves_only(ctx)
    {
        return Ok(None);
    }
    // Every other present input (shapes, pads, indices, scales) must be known now.
    for i in 1..ctx.inputs.len() {
        if ctx.node.inputs[i].is_some() && ctx.konst(i).is_none() {
            return Ok(None);
        }
    }
    let is_pad = ctx.op().op_type() == "Pad";
    let pad = match ctx.konst(2).filter(|_| is_pad) {
        Some(t) => match t.as_slice::<f32>().ok().and_then(|s| s.first()) {
            Some(&v) if x.dtype == DType::F32 => v,
            _ => return Ok(None),
        },
        None => 0.0,
    };
    let iota: Vec<i64> = (0..x.numel() as i64).collect();
    let Ok(iota) = Tensor::from_vec(x.shape.clone(), iota) else {
        return Ok(None);
    };
    let mut args: Vec<Option<Value>> = ctx
        .consts
        .iter()
        .map(|c| c.clone().map(Value::Tensor))
        .collect();
    args[0] = Some(Value::Tensor(iota));
    if is_pad {
        args.resize(args.len().max(3), None);
        args[2] = Some(Value::Tensor(Tensor::scalar(-1i64)));
    }
    let graph = Graph::default();
    let values: Vec<Option<Value>> = Vec::new();
    let scope = Scope::root(&graph, &values);
    let ectx = EvalCtx {
        opset: ctx.opset,
        num_outputs: 1,
        scope: &scope,
    };
    let Ok(outs) = ctx.op().eval(&ectx, &Inputs { values: &args }) else {
        return Ok(None);
    };
    let Some(Value::Tensor(t)) = outs.into_iter().next() else {
        return Ok(None);
    };
    if t.shape() != y.shape.as_slice() || t.dtype() != DType::I64 {
        return Ok(None);
    }
    let Ok(idx) = t.as_slice::<i64>() else {
        return Ok(None);
    };
    let n = x.numel() as i64;
    let mut map = Vec::with_capacity(idx.len());
    for &i in idx {
        match i {
            -1 if is_pad => map.push(PAD),
            i if (0..n).contains(&i) => map.push(i as u32),
            _ => return Ok(None),
        }
    }
    let r = runs(&map);
    let plan = if r.len() * 4 <= map.len() {
        Plan::Runs(r)
    } else {
        Plan::Gather(map)
    };
    Ok(Some(Box::new(GatherMap { plan, pad })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_consecutive_indices_and_pads() {
        let got = runs(&[PAD, PAD, 3, 4, 5, 9, PAD]);
        let want = [
            Run { src: PAD, len: 2 },
            Run { src: 3, len: 3 },
            Run { src: 9, len: 1 },
            Run { src: PAD, len: 1 },
        ];
        assert_eq!(got, want);
    }
}
