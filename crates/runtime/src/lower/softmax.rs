//! Softmax over one axis (opset >= 13) or over the flattened trailing dims (opset < 13).

use super::LowerCtx;
use crate::{Io, Kernel, Result};

struct Softmax {
    outer: usize,
    n: usize,
    inner: usize,
}

impl Kernel for Softmax {
    fn name(&self) -> &'static str {
        "softmax"
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let x = io.input(0);
        let y = io.output(0);
        let (n, inner) = (self.n, self.inner);
        for o in 0..self.outer {
            for i in 0..inner {
                let at = |j: usize| o * n * inner + j * inner + i;
                let mut max = f32::NEG_INFINITY;
                for j in 0..n {
                    max = max.max(x[at(j)]);
                }
                let mut sum = 0f32;
                for j in 0..n {
                    let e = (x[at(j)] - max).exp();
                    y[at(j)] = e;
                    sum += e;
                }
                let inv = 1.0 / sum;
                for j in 0..n {
                    y[at(j)] *= inv;
                }
            }
        }
        Ok(())
    }
}

pub fn lower(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let (Some(x), Some(_)) = (ctx.input(0), ctx.output(0)) else {
        return Ok(None);
    };
    if !ctx.all_f32() || ctx.op().op_type() != "Softmax" || x.shape.is_empty() {
        return Ok(None);
    }
    let rank = x.shape.len() as i64;
    let axis = ctx.attr_int("axis", if ctx.opset >= 13 { -1 } else { 1 });
    let axis = if axis < 0 { axis + rank } else { axis };
    if !(0..rank).contains(&axis) {
        return Ok(None);
    }
    let axis = axis as usize;
    let outer: usize = x.shape[..axis].iter().product();
    let (n, inner) = if ctx.opset >= 13 {
        (x.shape[axis], x.shape[axis + 1..].iter().product())
    } else {
        (x.shape[axis..].iter().product(), 1)
    };
    Ok(Some(Box::new(Softmax { outer, n, inner })))
}
