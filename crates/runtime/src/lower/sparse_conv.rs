//! Pointwise (1x1, stride 1, no padding, one group) Conv / FusedConv with a constant,
//! mostly-zero weight on the CSR sparse kernel (`edgeopt_kernels::sparse`): per image,
//! `Y[Cout x HW] = act(W[Cout x Cin] * X[Cin x HW] + bias)`, work proportional to the nonzeros.
//! Tried before the dense lowering, it takes a node only when the weight's measured sparsity
//! is at least [`MIN_SPARSITY`] and an image has at least [`MIN_PIXELS`] pixels, where
//! `benches/sparse.rs` measured the blocked sparse kernel faster than the prepacked dense
//! convolution on 1x1 shapes (AVX-512, 2026-11-24 session 5: at 70% 1.2-2.4x on 7x7 to
//! 112x112 images, at 50% 0.9-1.8x).

use super::act::PostActivation;
use super::LowerCtx;
use crate::{Io, Kernel, Result};
use edgeopt_ir::ops::nn::conv::Conv;
use edgeopt_kernels::sparse::{CsrMatrix, SparseImpl};
use edgeopt_passes::ops::fused_conv::FusedConv;

/// Fraction of zero weights from which the sparse kernel is used.
pub const MIN_SPARSITY: f64 = 0.7;

/// Pixels per image from which the sparse kernel is used (one 8-wide vector of columns).
pub const MIN_PIXELS: usize = 8;

struct SparseConv1x1 {
    w: CsrMatrix,
    batch: usize,
    pixels: usize,
    bias: Option<Vec<f32>>,
    act: PostActivation,
}

impl Kernel for SparseConv1x1 {
    fn name(&self) -> &'static str {
        "sparse.conv1x1"
    }

    fn scratch_len(&self) -> usize {
        self.w.matmul_scratch_len(self.pixels)
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let x = io.input(0);
        let (y, scratch) = io.output_and_scratch();
        let (cin, cout, p) = (self.w.cols(), self.w.rows(), self.pixels);
        let imp = SparseImpl::native();
        for b in 0..self.batch {
            let yb = &mut y[b * cout * p..][..cout * p];
            let xb = &x[b * cin * p..][..cin * p];
            let bias = self.bias.as_deref();
            self.w
                .matmul_with(imp, xb, p, yb, bias, self.act.fused, scratch)?;
            self.act.apply_post(yb, p, cout);
        }
        Ok(())
    }
}

/// Lowers a pointwise convolution whose constant weight is sparse enough.
pub fn lower(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let (conv, act) = if let Some(f) = ctx.op().downcast_ref::<FusedConv>() {
        (&f.conv, Some(&f.activation))
    } else if let Some(c) = ctx.op().downcast_ref::<Conv>() {
        (c, None)
    } else {
        return Ok(None);
    };
    let (Some(x), Some(wt), Some(y)) = (ctx.input(0), ctx.konst(1), ctx.output(0)) else {
        return Ok(None);
    };
    if !ctx.all_f32() || x.shape.len() < 3 || x.shape.len() != y.shape.len() {
        return Ok(None);
    }
    let Ok(s) = conv.shape(&x.shape, wt.shape()) else {
        return Ok(None);
    };
    let pointwise = s.axes.iter().all(|a| {
        a.kernel == 1 && a.stride == 1 && a.pad_begin == 0 && a.pad_end == 0 && a.output == a.input
    });
    let pixels: usize = s.axes.iter().map(|a| a.output).product();
    if !pointwise || s.group != 1 || pixels < MIN_PIXELS || y.shape[1] != s.m {
        return Ok(None);
    }
    let wv = wt.as_slice::<f32>()?;
    let zeros = wv.iter().filter(|v| **v == 0.0).count();
    if wv.is_empty() || (zeros as f64) < MIN_SPARSITY * wv.len() as f64 {
        return Ok(None);
    }
    let bias = match (ctx.input(2), ctx.konst(2)) {
        (None, _) => None,
        (Some(b), Some(t)) if b.numel() == s.m => Some(t.as_slice::<f32>()?.to_vec()),
        _ => return Ok(None),
    };
    Ok(Some(Box::new(SparseConv1x1 {
        w: CsrMatrix::from_dense(wv, s.m, s.c)?,
        batch: s.n,
        pixels,
        bias,
        act: PostActivation::new(act),
    })))
}
