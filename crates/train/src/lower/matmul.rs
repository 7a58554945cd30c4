//! MatMulT on 2-D operands and Gemm whose B (and bias) are graph inputs (training graphs feed
//! the parameters every step), as one call of the packed GEMM.

use crate::ops::matmul_t::MatMulT;
use edgeopt_ir::ops::linalg::gemm::Gemm;
use edgeopt_kernels::{gemm, Bias, GemmParams, MatMut, MatRef};
use edgeopt_runtime::{Io, Kernel, LowerCtx, Result};

/// `Y = alpha * op(A) * op(B) + bias`.
struct Product {
    a: (usize, usize, bool),
    b: (usize, usize, bool),
    alpha: f32,
    /// Per-column bias in input 2.
    bias: bool,
}

impl Kernel for Product {
    fn name(&self) -> &'static str {
        "train.gemm"
    }
    fn run(&mut self, io: &mut Io) -> Result<()> {
        let view = |d, (r, c, t): (usize, usize, bool)| -> Result<MatRef> {
            let m = MatRef::row_major(d, r, c)?;
            Ok(if t { m.t() } else { m })
        };
        let a = view(io.input(0), self.a)?;
        let b = view(io.input(1), self.b)?;
        let bias = io.input(2);
        let params = GemmParams {
            alpha: self.alpha,
            bias: if self.bias {
                Bias::PerCol(bias)
            } else {
                Bias::None
            },
            threads: io.threads,
            ..GemmParams::default()
        };
        let (m, n) = (a.rows(), b.cols());
        gemm(&params, a, b, MatMut::row_major(io.output(0), m, n)?)?;
        Ok(())
    }
}

fn dims2(s: &[usize], t: bool) -> Option<(usize, usize, bool)> {
    match *s {
        [r, c] => Some((r, c, t)),
        _ => None,
    }
}

/// The product's output `[m, n]` if `a` and `b` fit.
fn fits(a: (usize, usize, bool), b: (usize, usize, bool)) -> Option<(usize, usize)> {
    let (m, ka) = if a.2 { (a.1, a.0) } else { (a.0, a.1) };
    let (kb, n) = if b.2 { (b.1, b.0) } else { (b.0, b.1) };
    (ka == kb).then_some((m, n))
}

/// MatMulT(A, B) with rank-2 operands.
pub fn lower_matmul_t(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let Some(op) = ctx.op().downcast_ref::<MatMulT>() else {
        return Ok(None);
    };
    let (Some(a), Some(b), Some(y)) = (ctx.input(0), ctx.input(1), ctx.output(0)) else {
        return Ok(None);
    };
    let (Some(a), Some(b)) = (dims2(&a.shape, op.trans_a), dims2(&b.shape, op.trans_b)) else {
        return Ok(None);
    };
    if !ctx.all_f32() || fits(a, b).is_none_or(|(m, n)| y.shape != [m, n]) {
        return Ok(None);
    }
    Ok(Some(Box::new(Product {
        a,
        b,
        alpha: op.alpha,
        bias: false,
    })))
}

/// Gemm with a non-constant B, no C or a per-column C with `beta = 1`.
pub fn lower_gemm(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let Some(op) = ctx.op().downcast_ref::<Gemm>() else {
        return Ok(None);
    };
    if ctx.konst(1).is_some() {
        return Ok(None);
    }
    let (Some(a), Some(b), Some(y)) = (ctx.input(0), ctx.input(1), ctx.output(0)) else {
        return Ok(None);
    };
    let (Some(a), Some(b)) = (dims2(&a.shape, op.trans_a), dims2(&b.shape, op.trans_b)) else {
        return Ok(None);
    };
    let Some((m, n)) = fits(a, b) else {
        return Ok(None);
    };
    let bias = match ctx.input(2) {
        None => false,
        Some(c) if op.beta == 1.0 && c.numel() == n && c.shape.last() == Some(&n) => true,
        Some(_) => return Ok(None),
    };
    if !ctx.all_f32() || y.shape != [m, n] {
        return Ok(None);
    }
    Ok(Some(Box::new(Product {
        a,
        b,
        alpha: op.alpha,
        bias,
    })))
}
