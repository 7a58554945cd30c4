//! Concat along any axis: per outer index, one contiguous block per input.

use super::LowerCtx;
use crate::{Io, Kernel, Result};

struct Concat {
    outer: usize,
    /// Bytes of each input's block per outer index.
    blocks: Vec<usize>,
}

impl Kernel for Concat {
    fn name(&self) -> &'static str {
        "concat"
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let total: usize = self.blocks.iter().sum();
        let mut at = 0;
        for (i, &b) in self.blocks.iter().enumerate() {
            let src = io.input_bytes(i);
            let dst = io.output_bytes(0);
            for o in 0..self.outer {
                dst[o * total + at..o * total + at + b].copy_from_slice(&src[o * b..(o + 1) * b]);
            }
            at += b;
        }
        Ok(())
    }
}

pub fn lower(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let Some(y) = ctx.output(0) else {
        return Ok(None);
    };
    if ctx.inputs.iter().any(|t| t.is_none()) || y.shape.is_empty() {
        return Ok(None);
    }
    let rank = y.shape.len() as i64;
    let axis = ctx.attr_int("axis", 0);
    let axis = if axis < 0 { axis + rank } else { axis };
    if !(0..rank).contains(&axis) {
        return Ok(None);
    }
    let axis = axis as usize;
    let outer: usize = y.shape[..axis].iter().product();
    let size = y.dtype.size_of();
    let mut blocks = Vec::new();
    for t in ctx.inputs.iter().flatten() {
        if t.dtype != y.dtype || t.shape.len() != y.shape.len() {
            return Ok(None);
        }
        blocks.push(t.shape[axis..].iter().product::<usize>() * size);
    }
    Ok(Some(Box::new(Concat { outer, blocks })))
}
