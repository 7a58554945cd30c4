//! Gemm and FusedGemm: `act(alpha * A' * B' + beta * C)` with constant B prepacked at build
//! (or kept as `[N, K]` rows for the single-row GEMV path), C folded into a per-row or
//! per-column bias, and the activation fused into the store.

use super::act::PostActivation;
use super::gemv::gemv_rows;
use super::LowerCtx;
use crate::{Io, Kernel, Result};
use edgeopt_ir::ops::linalg::gemm::Gemm;
use edgeopt_kernels::{gemm, gemm_prepacked, Bias, GemmParams, MatMut, MatRef, PackedB};
use edgeopt_passes::ops::fused_matmul::FusedGemm;

/// The right-hand side of a product.
pub enum Rhs {
    /// Constant, packed for the blocked GEMM.
    Packed(PackedB),
    /// Constant as `[N, K]` rows, for one-row products (GEMV).
    Rows(Vec<f32>),
    /// Read from input 1 every run; `trans` when it is stored `[N, K]`.
    Dynamic { trans: bool },
}

impl Rhs {
    /// B (`K x N` after the optional transpose) from a constant, or dynamic; `m` is the
    /// row count of the products it will serve.
    pub fn new(b: Option<&[f32]>, m: usize, k: usize, n: usize, trans: bool) -> Result<Rhs> {
        let Some(b) = b else {
            return Ok(Rhs::Dynamic { trans });
        };
        if m > 1 {
            let view = if trans {
                MatRef::row_major(b, n, k)?.t()
            } else {
                MatRef::row_major(b, k, n)?
            };
            return Ok(Rhs::Packed(PackedB::new(view)?));
        }
        Ok(Rhs::Rows(if trans {
            b.to_vec()
        } else {
            let mut t = vec![0f32; k * n];
            for p in 0..k {
                for j in 0..n {
                    t[j * k + p] = b[p * n + j];
                }
            }
            t
        }))
    }
}

/// Bias from C or FusedMatMul's bias input, resolved at build.
pub enum BiasVec {
    None,
    Row(Vec<f32>),
    Col(Vec<f32>),
}

impl BiasVec {
    pub fn as_bias(&self) -> Bias<'_> {
        match self {
            BiasVec::None => Bias::None,
            BiasVec::Row(v) => Bias::PerRow(v),
            BiasVec::Col(v) => Bias::PerCol(v),
        }
    }
}

/// One `M x K` by `K x N` product with everything fixed but the data.
pub struct Product {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub alpha: f32,
    pub trans_a: bool,
    pub rhs: Rhs,
    pub bias: BiasVec,
    pub act: PostActivation,
}

impl Product {
    /// `y = product(a, b)`; `b` is only read for a dynamic right-hand side.
    pub fn run(&self, a: &[f32], b: &[f32], y: &mut [f32], threads: usize) -> Result<()> {
        let (m, k, n) = (self.m, self.k, self.n);
        let params = GemmParams {
            alpha: self.alpha,
            beta: 0.0,
            bias: self.bias.as_bias(),
            activation: self.act.fused,
            threads,
        };
        let av = if self.trans_a {
            MatRef::row_major(a, k, m)?.t()
        } else {
            MatRef::row_major(a, m, k)?
        };
        match &self.rhs {
            Rhs::Rows(rows_nk) => {
                gemv_rows(a, rows_nk, k, &mut y[..n], threads);
                let b = match &self.bias {
                    BiasVec::Col(v) => Some(v.as_slice()),
                    BiasVec::Row(v) => return self.gemv_epilogue_row(v[0], y),
                    BiasVec::None => None,
                };
                for (j, v) in y[..n].iter_mut().enumerate() {
                    let s = self.alpha * *v + b.map_or(0.0, |b| b[j]);
                    *v = self.act.fused.apply(s);
                }
            }
            Rhs::Packed(packed) => {
                gemm_prepacked(&params, av, packed, MatMut::row_major(y, m, n)?)?
            }
            Rhs::Dynamic { trans } => {
                let bv = if *trans {
                    MatRef::row_major(b, n, k)?.t()
                } else {
                    MatRef::row_major(b, k, n)?
                };
                gemm(&params, av, bv, MatMut::row_major(y, m, n)?)?
            }
        }
        self.act.apply_post(&mut y[..m * n], 1, n);
        Ok(())
    }

    fn gemv_epilogue_row(&self, bias: f32, y: &mut [f32]) -> Result<()> {
        for v in y[..self.n].iter_mut() {
            *v = self.act.fused.apply(self.alpha * *v + bias);
        }
        self.act.apply_post(&mut y[..self.n], 1, self.n);
        Ok(())
    }
}

struct GemmKernel {
    p: Product,
}

impl Kernel for GemmKernel {
    fn name(&self) -> &'static str {
        match &self.p.rhs {
            Rhs::Rows(_) => "gemv.rows",
            Rhs::Packed(_) => "gemm.prepacked",
            Rhs::Dynamic { .. } => "gemm",
        }
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let (a, b) = (io.input(0), io.input(1));
        let threads = io.threads;
        self.p.run(a, b, io.output(0), threads)
    }
}

/// C (scaled by beta) as a bias when it broadcasts along rows or columns only.
fn bias_from_c(c: &[f32], shape: &[usize], m: usize, n: usize, beta: f32) -> Option<BiasVec> {
    let scaled = |v: &[f32]| v.iter().map(|x| x * beta).collect::<Vec<f32>>();
    match shape {
        [] | [1] | [1, 1] => Some(BiasVec::Col(vec![c[0] * beta; n])),
        [x] | [1, x] if *x == n => Some(BiasVec::Col(scaled(c))),
        [x, 1] if *x == m => Some(BiasVec::Row(scaled(c))),
        _ => None,
    }
}

pub fn lower(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let (g, act) = if let Some(f) = ctx.op().downcast_ref::<FusedGemm>() {
        (f.gemm.clone(), Some(&f.activation))
    } else if let Some(g) = ctx.op().downcast_ref::<Gemm>() {
        (g.clone(), None)
    } else {
        return Ok(None);
    };
    let (Some(a), Some(b), Some(y)) = (ctx.input(0), ctx.input(1), ctx.output(0)) else {
        return Ok(None);
    };
    if !ctx.all_f32() || a.shape.len() != 2 || b.shape.len() != 2 || y.shape.len() != 2 {
        return Ok(None);
    }
    let (m, k) = if g.trans_a {
        (a.shape[1], a.shape[0])
    } else {
        (a.shape[0], a.shape[1])
    };
    let n = y.shape[1];
    let bias = match (ctx.input(2), ctx.konst(2)) {
        (None, _) => BiasVec::None,
        (Some(ct), Some(c)) => match bias_from_c(c.as_slice::<f32>()?, &ct.shape, m, n, g.beta) {
            Some(b) => b,
            None => return Ok(None),
        },
        (Some(_), None) => return Ok(None),
    };
    let bconst = ctx.konst(1).map(|t| t.as_slice::<f32>()).transpose()?;
    let p = Product {
        m,
        k,
        n,
        alpha: g.alpha,
        trans_a: g.trans_a,
        rhs: Rhs::new(bconst, m, k, n, g.trans_b)?,
        bias,
        act: PostActivation::new(act),
    };
    Ok(Some(Box::new(GemmKernel { p })))
}
