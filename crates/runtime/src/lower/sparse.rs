//! Gemm / FusedGemm with a constant, mostly-zero weight on the CSR sparse kernel
//! (`edgeopt_kernels::sparse`): tried before the dense lowering, it takes a node only when the
//! weight's measured sparsity is at least [`MIN_SPARSITY`], where `benches/sparse.rs` measured
//! the sparse kernel faster than the dense GEMM/GEMV on Gemm shapes (session 5: 1.2-1.9x at
//! 70%, 1.7-3.4x at 80%, 2.7-6x at 90%; about as fast at 50%).

use super::act::PostActivation;
use super::LowerCtx;
use crate::{Io, Kernel, Result};
use edgeopt_ir::ops::linalg::gemm::Gemm;
use edgeopt_kernels::sparse::{CsrMatrix, SparseImpl};
use edgeopt_passes::ops::fused_matmul::FusedGemm;

/// Fraction of zero weights from which the sparse kernel is used.
pub const MIN_SPARSITY: f64 = 0.7;

struct SparseGemm {
    w: CsrMatrix,
    m: usize,
    bias: Option<Vec<f32>>,
    act: PostActivation,
}

impl Kernel for SparseGemm {
    fn name(&self) -> &'static str {
        "sparse.gemm"
    }

    fn scratch_len(&self) -> usize {
        self.w.matmul_t_scratch_len(self.m)
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let a = io.input(0);
        let (y, scratch) = io.output_and_scratch();
        let n = self.w.rows();
        let bias = self.bias.as_deref();
        let act = self.act.fused;
        let imp = SparseImpl::native();
        self.w
            .matmul_t_with(imp, a, self.m, y, bias, act, scratch)?;
        self.act.apply_post(y, 1, n);
        Ok(())
    }
}

/// Lowers `Y = act(A * B' + beta * C)` with `alpha == 1`, A not transposed, B constant and C
/// absent or a constant per-column vector.
pub fn lower_gemm(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let (g, act) = if let Some(f) = ctx.op().downcast_ref::<FusedGemm>() {
        (f.gemm.clone(), Some(&f.activation))
    } else if let Some(g) = ctx.op().downcast_ref::<Gemm>() {
        (g.clone(), None)
    } else {
        return Ok(None);
    };
    let (Some(a), Some(y), Some(b)) = (ctx.input(0), ctx.output(0), ctx.konst(1)) else {
        return Ok(None);
    };
    if !ctx.all_f32() || g.trans_a || g.alpha != 1.0 || a.shape.len() != 2 || b.rank() != 2 {
        return Ok(None);
    }
    let (m, k, n) = (a.shape[0], a.shape[1], y.shape[1]);
    let bv = b.as_slice::<f32>()?;
    let zeros = bv.iter().filter(|v| **v == 0.0).count();
    if bv.is_empty() || (zeros as f64) < MIN_SPARSITY * bv.len() as f64 {
        return Ok(None);
    }
    let w_nk: Vec<f32> = if g.trans_b {
        bv.to_vec()
    } else {
        let mut t = vec![0f32; k * n];
        for p in 0..k {
            for j in 0..n {
                t[j * k + p] = bv[p * n + j];
            }
        }
        t
    };
    let bias = match (ctx.input(2), ctx.konst(2)) {
        (None, _) => None,
        (Some(ct), Some(c)) => {
            let c = c.as_slice::<f32>()?;
            match ct.shape.as_slice() {
                [x] | [1, x] if *x == n => Some(c.iter().map(|v| v * g.beta).collect()),
                [] | [1] | [1, 1] => Some(vec![c[0] * g.beta; n]),
                _ => return Ok(None),
            }
        }
        (Some(_), None) => return Ok(None),
    };
    Ok(Some(Box::new(SparseGemm {
        w: CsrMatrix::from_dense(&w_nk, n, k)?,
        m,
        bias,
        act: PostActivation::new(act),
    })))
}
