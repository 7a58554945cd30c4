//! MatMul and FusedMatMul (`act(A @ B + bias)`), numpy semantics: batched with broadcast
//! batch dims, 1-D operands promoted. A constant 2-D B is prepacked and A's batch dims fold
//! into rows (one product); otherwise one product per batch, offsets precomputed.

use super::act::PostActivation;
use super::gemm::{BiasVec, Product, Rhs};
use super::LowerCtx;
use crate::{Io, Kernel, Result};
use edgeopt_passes::ops::fused_matmul::FusedMatMul;

struct MatMulKernel {
    p: Product,
    /// (offset of A, offset of B, offset of Y) per product, in elements.
    batches: Vec<(usize, usize, usize)>,
}

impl Kernel for MatMulKernel {
    fn name(&self) -> &'static str {
        match self.p.rhs {
            Rhs::Rows(_) => "matmul.gemv",
            Rhs::Packed(_) => "matmul.prepacked",
            Rhs::Dynamic { .. } => "matmul.batched",
        }
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let (a, b) = (io.input(0), io.input(1));
        let threads = io.threads;
        let y = io.output(0);
        let (m, k, n) = (self.p.m, self.p.k, self.p.n);
        for &(oa, ob, oy) in &self.batches {
            let bs = if b.is_empty() { b } else { &b[ob..ob + k * n] };
            self.p
                .run(&a[oa..oa + m * k], bs, &mut y[oy..oy + m * n], threads)?;
        }
        Ok(())
    }
}

/// Row-major strides of `dims` broadcast to `out` (0 on broadcast dims).
fn batch_strides(dims: &[usize], out: &[usize], unit: usize) -> Vec<usize> {
    let off = out.len() - dims.len();
    let mut s = vec![0; out.len()];
    let mut acc = unit;
    for i in (0..dims.len()).rev() {
        s[off + i] = if dims[i] == 1 { 0 } else { acc };
        acc *= dims[i];
    }
    s
}

pub fn lower(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let act = match ctx.op().downcast_ref::<FusedMatMul>() {
        Some(f) => f.activation.as_ref(),
        None if ctx.op().op_type() == "MatMul" && ctx.op().domain().is_empty() => None,
        None => return Ok(None),
    };
    let (Some(a), Some(b), Some(_)) = (ctx.input(0), ctx.input(1), ctx.output(0)) else {
        return Ok(None);
    };
    if !ctx.all_f32() || a.shape.is_empty() || b.shape.is_empty() {
        return Ok(None);
    }
    // Promote 1-D operands: A [K] -> [1, K], B [K] -> [K, 1].
    let ash: Vec<usize> = if a.shape.len() == 1 {
        vec![1, a.shape[0]]
    } else {
        a.shape.clone()
    };
    let bsh: Vec<usize> = if b.shape.len() == 1 {
        vec![b.shape[0], 1]
    } else {
        b.shape.clone()
    };
    let (m, k) = (ash[ash.len() - 2], ash[ash.len() - 1]);
    let (kb, n) = (bsh[bsh.len() - 2], bsh[bsh.len() - 1]);
    if k != kb {
        return Ok(None);
    }
    let (abat, bbat) = (&ash[..ash.len() - 2], &bsh[..bsh.len() - 2]);
    let rank = abat.len().max(bbat.len());
    let mut out = vec![1usize; rank];
    for (i, o) in out.iter_mut().enumerate() {
        let get = |d: &[usize]| (i + d.len()).checked_sub(rank).map(|j| d[j]).unwrap_or(1);
        let (x, y) = (get(abat), get(bbat));
        if x != y && x != 1 && y != 1 {
            return Ok(None);
        }
        *o = x.max(y);
    }
    let bias = match (ctx.input(2), ctx.konst(2)) {
        (None, _) => BiasVec::None,
        (Some(bt), Some(t)) if bt.numel() == n => BiasVec::Col(t.as_slice::<f32>()?.to_vec()),
        (Some(bt), Some(t)) if bt.numel() == 1 => BiasVec::Col(vec![t.as_slice::<f32>()?[0]; n]),
        _ => return Ok(None),
    };
    let act = PostActivation::new(act);
    let bconst = ctx.konst(1).map(|t| t.as_slice::<f32>()).transpose()?;
    let b_shared = bbat.iter().all(|&d| d == 1);
    if let (Some(bc), true) = (bconst, b_shared) {
        // Every batch multiplies the same B: fold batches into rows.
        let rows = ash.iter().product::<usize>() / k.max(1);
        let p = Product {
            m: rows,
            k,
            n,
            alpha: 1.0,
            trans_a: false,
            rhs: Rhs::new(Some(bc), rows, k, n, false)?,
            bias,
            act,
        };
        return Ok(Some(Box::new(MatMulKernel {
            p,
            batches: vec![(0, 0, 0)],
        })));
    }
    let sa = batch_strides(abat, &out, m * k);
    let sb = batch_strides(bbat, &out, k * n);
    let total: usize = out.iter().product();
    let mut batches = Vec::with_capacity(total);
    let mut idx = vec![0usize; rank];
    for t in 0..total {
        let oa = idx.iter().zip(&sa).map(|(i, s)| i * s).sum();
        let ob = idx.iter().zip(&sb).map(|(i, s)| i * s).sum();
        batches.push((oa, ob, t * m * n));
        for d in (0..rank).rev() {
            idx[d] += 1;
            if idx[d] < out[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    let p = Product {
        m,
        k,
        n,
        alpha: 1.0,
        trans_a: false,
        rhs: Rhs::Dynamic { trans: false },
        bias,
        act,
    };
    Ok(Some(Box::new(MatMulKernel { p, batches })))
}
