//! ConvGradWeight and ConvGradInput for 1-D/2-D convolutions as GEMMs on the packed kernels:
//! `dW_g += dY_g * im2col(X_g)^T` and `dX_g = col2im(W_g^T * dY_g)`, one product per image and
//! group, with the column matrices in buffers owned by the kernel (no allocation per step once
//! warm).
//!
//! Threads split the work so that every output element is computed by one thread with the
//! same arithmetic whatever the thread count (results are bit-identical for any count):
//! the weight gradient by rows (output channels), the input gradient by images.

use super::geometry::{col2im, geometry_of, im2col, Geometry};
use crate::ops::conv_grad::{ConvGradInput, ConvGradWeight};
use edgeopt_kernels::{gemm, gemm_packed_a, GemmParams, MatMut, MatRef, PackedA};
use edgeopt_runtime::{Error, Io, Kernel, LowerCtx, Result};

/// `len` split into at most `parts` contiguous, nearly equal ranges.
fn ranges(len: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
    let parts = parts.clamp(1, len.max(1));
    (0..parts)
        .map(|i| len * i / parts..len * (i + 1) / parts)
        .collect()
}

/// Runs `f(part, range)` for each range, the first on this thread, the rest on scoped threads.
fn parallel<T: Send>(parts: Vec<T>, f: impl Fn(T) -> Result<()> + Sync) -> Result<()> {
    let mut it = parts.into_iter();
    let Some(first) = it.next() else {
        return Ok(());
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = it.map(|p| s.spawn(|| f(p))).collect();
        let mut r = f(first);
        for h in handles {
            let res = h
                .join()
                .unwrap_or_else(|_| Err(Error::Other("a gradient thread panicked".into())));
            r = r.and(res);
        }
        r
    })
}

/// Threads worth using: at least ~2 M multiply-adds each.
fn threads_for(macs: usize, requested: usize) -> usize {
    requested.clamp(1, (macs / 2_000_000).max(1))
}

struct WeightGrad {
    g: Geometry,
    /// One column matrix per thread.
    cols: Vec<Vec<f32>>,
    /// Compute `dW_g^T = cols * dY_g^T` (wide output when `kg` is narrower than `mg`).
    transposed: bool,
}

impl WeightGrad {
    /// Rows `rows` (output channels of group `grp`) of `dW_g` into `dw`, over all images.
    fn rows(
        &self,
        x: &[f32],
        dy: &[f32],
        grp: usize,
        rows: std::ops::Range<usize>,
        dw: &mut [f32],
        cols: &mut [f32],
    ) -> Result<()> {
        let g = self.g;
        let (cg, mg, kg, p, plane) = (g.cg(), g.mg(), g.kg(), g.p(), g.plane());
        let nr = rows.len();
        for img in 0..g.batch {
            let xg = &x[(img * g.in_c + grp * cg) * plane..][..cg * plane];
            im2col(&g, xg, cg, cols);
            let dyg = &dy[(img * g.out_c + grp * mg + rows.start) * p..][..nr * p];
            let params = GemmParams {
                beta: if img == 0 { 0.0 } else { 1.0 },
                ..GemmParams::default()
            };
            let colm = MatRef::row_major(cols, kg, p)?;
            let dym = MatRef::row_major(dyg, nr, p)?;
            if self.transposed {
                let c = MatMut::row_major(dw, nr, kg)?.t();
                gemm(&params, colm, dym.t(), c)?;
            } else {
                gemm(&params, dym, colm.t(), MatMut::row_major(dw, nr, kg)?)?;
            }
        }
        Ok(())
    }
}

impl Kernel for WeightGrad {
    fn name(&self) -> &'static str {
        "train.conv_grad_weight"
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let g = self.g;
        let (dy, x) = (io.input(0), io.input(1));
        let (mg, kg) = (g.mg(), g.kg());
        let macs = g.batch * mg * kg * g.p();
        let t = threads_for(macs, io.threads).min(mg);
        while self.cols.len() < t {
            self.cols.push(vec![0.0; kg * g.p()]);
        }
        let mut cols = std::mem::take(&mut self.cols);
        let dw = io.output(0);
        let mut result = Ok(());
        for grp in 0..g.groups {
            let mut dwg = &mut dw[grp * mg * kg..(grp + 1) * mg * kg];
            let mut parts = Vec::with_capacity(t);
            for (r, c) in ranges(mg, t).into_iter().zip(cols.iter_mut()) {
                let (head, tail) = std::mem::take(&mut dwg).split_at_mut(r.len() * kg);
                dwg = tail;
                parts.push((r, head, c));
            }
            let this = &*self;
            result = parallel(parts, |(r, d, c)| this.rows(x, dy, grp, r, d, c));
            if result.is_err() {
                break;
            }
        }
        self.cols = cols;
        result
    }
}

struct InputGrad {
    g: Geometry,
    /// One column matrix per thread.
    cols: Vec<Vec<f32>>,
}

impl Kernel for InputGrad {
    fn name(&self) -> &'static str {
        "train.conv_grad_input"
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let g = self.g;
        let (dy, w) = (io.input(0), io.input(1));
        let (cg, mg, kg, p, plane) = (g.cg(), g.mg(), g.kg(), g.p(), g.plane());
        let macs = g.batch * g.groups * mg * kg * p;
        let t = threads_for(macs, io.threads).min(g.batch);
        while self.cols.len() < t {
            self.cols.push(vec![0.0; kg * p]);
        }
        let dx = io.output(0);
        dx.fill(0.0);
        // W_g^T is the same for every image: pack it once per group.
        let packed = (0..g.groups)
            .map(|grp| {
                let w = MatRef::row_major(&w[grp * mg * kg..][..mg * kg], mg, kg)?;
                Ok(PackedA::new(w.t())?)
            })
            .collect::<Result<Vec<_>>>()?;
        let image = g.in_c * plane;
        let mut rest = &mut dx[..];
        let mut parts = Vec::with_capacity(t);
        for (r, c) in ranges(g.batch, t).into_iter().zip(self.cols.iter_mut()) {
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(r.len() * image);
            rest = tail;
            parts.push((r, head, c));
        }
        parallel(parts, |(imgs, dxs, cols)| {
            for (k, img) in imgs.enumerate() {
                for (grp, wt) in packed.iter().enumerate() {
                    let dyg = &dy[(img * g.out_c + grp * mg) * p..][..mg * p];
                    let c = MatMut::row_major(cols, kg, p)?;
                    let dym = MatRef::row_major(dyg, mg, p)?;
                    gemm_packed_a(&GemmParams::default(), wt, dym, c)?;
                    let dxg = &mut dxs[k * image + grp * cg * plane..][..cg * plane];
                    col2im(&g, cols, cg, dxg);
                }
            }
            Ok(())
        })
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
    let Some(g) = geometry_of(&op.conv, &x.shape, &w.shape, &dy.shape) else {
        return Ok(None);
    };
    if !ctx.all_f32() || ctx.output(0).is_none_or(|o| o.shape != w.shape) {
        return Ok(None);
    }
    Ok(Some(Box::new(WeightGrad {
        g,
        cols: vec![vec![0.0; g.kg() * g.p()]],
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
    let Some(g) = geometry_of(&op.conv, &x.shape, &w.shape, &dy.shape) else {
        return Ok(None);
    };
    if !ctx.all_f32() || ctx.output(0).is_none_or(|o| o.shape != x.shape) {
        return Ok(None);
    }
    Ok(Some(Box::new(InputGrad {
        g,
        cols: vec![vec![0.0; g.kg() * g.p()]],
    })))
}
