//! ConvGradWeight and ConvGradInput for 1-D/2-D convolutions as GEMMs on the packed kernels:
//! `dW_g += dY_g * im2col(X_g)^T` and `dX_g = col2im(W_g^T * dY_g)`, one product per image and
//! group, with the column matrix in a buffer owned by the kernel (no allocation per step).

use super::geometry::{col2im, im2col, Geometry};
use crate::ops::conv_grad::{ConvGradInput, ConvGradWeight};
use edgeopt_kernels::{gemm, gemm_packed_a, GemmParams, MatMut, MatRef, PackedA};
use edgeopt_runtime::{Io, Kernel, LowerCtx, Result};

struct WeightGrad {
    g: Geometry,
    cols: Vec<f32>,
    /// Compute `dW_g^T = cols * dY_g^T` (wide output when `kg` is narrower than `mg`).
    transposed: bool,
}

impl Kernel for WeightGrad {
    fn name(&self) -> &'static str {
        "train.conv_grad_weight"
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let g = self.g;
        let (dy, x) = (io.input(0), io.input(1));
        let threads = io.threads;
        let dw = io.output(0);
        let (cg, mg, kg, p, plane) = (g.cg(), g.mg(), g.kg(), g.p(), g.plane());
        for img in 0..g.batch {
            for grp in 0..g.groups {
                let xg = &x[(img * g.in_c + grp * cg) * plane..][..cg * plane];
                im2col(&g, xg, cg, &mut self.cols);
                let dyg = &dy[(img * g.out_c + grp * mg) * p..][..mg * p];
                let dwg = &mut dw[grp * mg * kg..][..mg * kg];
                let params = GemmParams {
                    beta: if img == 0 { 0.0 } else { 1.0 },
                    threads,
                    ..GemmParams::default()
                };
                let cols = MatRef::row_major(&self.cols, kg, p)?;
                let dym = MatRef::row_major(dyg, mg, p)?;
                if self.transposed {
                    let c = MatMut::row_major(dwg, mg, kg)?.t();
                    gemm(&params, cols, dym.t(), c)?;
                } else {
                    gemm(&params, dym, cols.t(), MatMut::row_major(dwg, mg, kg)?)?;
                }
            }
        }
        Ok(())
    }
}

struct InputGrad {
    g: Geometry,
    cols: Vec<f32>,
}

impl Kernel for InputGrad {
    fn name(&self) -> &'static str {
        "train.conv_grad_input"
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let g = self.g;
        let (dy, w) = (io.input(0), io.input(1));
        let threads = io.threads;
        let dx = io.output(0);
        dx.fill(0.0);
        let (cg, mg, kg, p, plane) = (g.cg(), g.mg(), g.kg(), g.p(), g.plane());
        let params = GemmParams {
            threads,
            ..GemmParams::default()
        };
        for grp in 0..g.groups {
            // W_g^T is the same for every image: pack it once.
            let wt = MatRef::row_major(&w[grp * mg * kg..][..mg * kg], mg, kg)?.t();
            let packed = PackedA::new(wt)?;
            for img in 0..g.batch {
                let dyg = &dy[(img * g.out_c + grp * mg) * p..][..mg * p];
                let c = MatMut::row_major(&mut self.cols, kg, p)?;
                gemm_packed_a(&params, &packed, MatRef::row_major(dyg, mg, p)?, c)?;
                let dxg = &mut dx[(img * g.in_c + grp * cg) * plane..][..cg * plane];
                col2im(&g, &self.cols, cg, dxg);
            }
        }
        Ok(())
    }
}

/// ConvGradWeight(dY, X, W) -> dW.
pub fn lower_weight(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let Some(op) = ctx.op().downcast_ref::<ConvGradWeight>() else {
        return Ok(None);
    };
    let (Some(dy), Some(x), Some(w)) = (ctx.input(0), ctx.input(1), ctx.input(2)) else {
        return Ok(None);
    };
    let Some(g) = Geometry::of(&op.conv, &x.shape, &w.shape, &dy.shape) else {
        return Ok(None);
    };
    if !ctx.all_f32() || ctx.output(0).is_none_or(|o| o.shape != w.shape) {
        return Ok(None);
    }
    Ok(Some(Box::new(WeightGrad {
        g,
        cols: vec![0.0; g.kg() * g.p()],
        transposed: g.kg() < g.mg(),
    })))
}

/// ConvGradInput(dY, W, X) -> dX.
pub fn lower_input(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let Some(op) = ctx.op().downcast_ref::<ConvGradInput>() else {
        return Ok(None);
    };
    let (Some(dy), Some(w), Some(x)) = (ctx.input(0), ctx.input(1), ctx.input(2)) else {
        return Ok(None);
    };
    let Some(g) = Geometry::of(&op.conv, &x.shape, &w.shape, &dy.shape) else {
        return Ok(None);
    };
    if !ctx.all_f32() || ctx.output(0).is_none_or(|o| o.shape != x.shape) {
        return Ok(None);
    }
    Ok(Some(Box::new(InputGrad {
        g,
        cols: vec![0.0; g.kg() * g.p()],
    })))
}
