//! ReduceMean / ReduceSum / ReduceMax over a contiguous block of axes of an f32 tensor (the
//! usual cases: the last axis, or H and W of NCHW), viewed as `[outer, reduced, inner]`.
//! Sums run in 8 lanes with a fixed-order final reduction, as the softmax kernel does.

use super::LowerCtx;
use crate::{Io, Kernel, Result};
use edgeopt_ir::ops::reduce::reductions::{Reduce, ReduceKind};
use edgeopt_tensor::DType;

struct Block {
    kind: ReduceKind,
    outer: usize,
    reduced: usize,
    inner: usize,
}

fn sum8(s: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = s.chunks_exact(8);
    let rem: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for j in 0..8 {
            acc[j] += c[j];
        }
    }
    acc.iter().sum::<f32>() + rem
}

/// The reference's max: NaN wins.
fn max_nan(m: f32, v: f32) -> f32 {
    if v > m || v.is_nan() {
        v
    } else {
        m
    }
}

impl Kernel for Block {
    fn name(&self) -> &'static str {
        "reduce.block"
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let x = io.input(0);
        let y = io.output(0);
        let (r, inner) = (self.reduced, self.inner);
        let max = matches!(self.kind, ReduceKind::Max);
        let scale = if matches!(self.kind, ReduceKind::Mean) {
            1.0 / r as f32
        } else {
            1.0
        };
        for o in 0..self.outer {
            let xo = &x[o * r * inner..(o + 1) * r * inner];
            let yo = &mut y[o * inner..(o + 1) * inner];
            if inner == 1 {
                yo[0] = if max {
                    xo.iter().copied().fold(f32::NEG_INFINITY, max_nan)
                } else {
                    sum8(xo) * scale
                };
                continue;
            }
            yo.copy_from_slice(&xo[..inner]);
            for row in xo.chunks_exact(inner).skip(1) {
                for (a, &v) in yo.iter_mut().zip(row) {
                    *a = if max { max_nan(*a, v) } else { *a + v };
                }
            }
            if scale != 1.0 {
                yo.iter_mut().for_each(|a| *a *= scale);
            }
        }
        Ok(())
    }
}

pub fn lower(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let Some(op) = ctx.op().downcast_ref::<Reduce>() else {
        return Ok(None);
    };
    let (Some(x), Some(y)) = (ctx.input(0), ctx.output(0)) else {
        return Ok(None);
    };
    if x.dtype != DType::F32
        || y.dtype != DType::F32
        || !matches!(
            op.kind,
            ReduceKind::Mean | ReduceKind::Sum | ReduceKind::Max
        )
        || x.numel() == 0
    {
        return Ok(None);
    }
    let axes: Vec<i64> = match (&op.axes, ctx.konst(1)) {
        (Some(a), _) => a.clone(),
        (None, Some(t)) => match t.as_slice::<i64>() {
            Ok(s) => s.to_vec(),
            Err(_) => return Ok(None),
        },
        (None, None) if ctx.node.inputs.get(1).copied().flatten().is_some() => return Ok(None),
        (None, None) => Vec::new(),
    };
    let rank = x.shape.len() as i64;
    let mut axes: Vec<usize> = if axes.is_empty() {
        if op.noop_with_empty_axes {
            return Ok(None);
        }
        (0..x.shape.len()).collect()
    } else {
        let mut v = Vec::with_capacity(axes.len());
        for a in axes {
            let a = if a < 0 { a + rank } else { a };
            if !(0..rank).contains(&a) {
                return Ok(None);
            }
            v.push(a as usize);
        }
        v
    };
    axes.sort_unstable();
    axes.dedup();
    let (first, last) = (axes[0], axes[axes.len() - 1]);
    if last - first + 1 != axes.len() {
        return Ok(None);
    }
    let outer: usize = x.shape[..first].iter().product();
    let reduced: usize = x.shape[first..=last].iter().product();
    let inner: usize = x.shape[last + 1..].iter().product();
    if outer * inner != y.numel() || reduced == 0 {
        return Ok(None);
    }
    Ok(Some(Box::new(Block {
        kind: op.kind,
        outer,
        reduced,
        inner,
    })))
}
