//! Packed fp32 GEMM: `C = act(alpha * A * B + beta * C + bias)`.
//!
//! `view` checks user slices once; `driver` runs the BLIS loop nest over packed panels
//! (`pack`), with GEMV shortcuts (`gemv`) and the work split across threads (`parallel`).

mod buffer;
mod driver;
mod gemv;
mod pack;
pub(crate) mod parallel;
mod pool;
mod view;

pub(crate) use crate::conv::Im2colSource;
pub(crate) use buffer::{with_workspace, AlignedBuf};
pub use pack::{PackedA, PackedB};
pub use view::{MatMut, MatRef};

use crate::{kernels, Activation, KernelError, Kernels, Result};

/// A bias added before the activation, one value per row or per column of C.
#[derive(Debug, Clone, Copy, Default)]
pub enum Bias<'a> {
    /// No bias.
    #[default]
    None,
    /// `M` values: `bias[i]` is added to row `i` (conv as `W * im2col`: one per channel).
    PerRow(&'a [f32]),
    /// `N` values: `bias[j]` is added to column `j` (a fully-connected layer `X * W^T`).
    PerCol(&'a [f32]),
}

/// Everything about a GEMM call except the matrices.
#[derive(Debug, Clone, Copy)]
pub struct GemmParams<'a> {
    /// Scale of the product.
    pub alpha: f32,
    /// Scale of C's previous content; when 0, C is not read (it may hold garbage).
    pub beta: f32,
    /// Bias added after scaling.
    pub bias: Bias<'a>,
    /// Activation applied last.
    pub activation: Activation,
    /// Threads to use (0 counts as 1). Small products use fewer. Results do not depend on it:
    /// each output is computed by one thread, in the same order, whatever the split.
    pub threads: usize,
}

impl Default for GemmParams<'_> {
    fn default() -> Self {
        GemmParams {
            alpha: 1.0,
            beta: 0.0,
            bias: Bias::None,
            activation: Activation::None,
            threads: 1,
        }
    }
}

/// `C = act(alpha * A * B + beta * C + bias)` with the process's table ([`kernels`]).
pub fn gemm(params: &GemmParams, a: MatRef, b: MatRef, c: MatMut) -> Result<()> {
    kernels().gemm(params, a, b, c)
}

/// [`gemm`] with an A packed ahead of time by [`PackedA::new`].
pub fn gemm_packed_a(params: &GemmParams, a: &PackedA, b: MatRef, c: MatMut) -> Result<()> {
    kernels().gemm_packed_a(params, a, b, c)
}

/// [`gemm`] with a B packed ahead of time by [`PackedB::new`].
pub fn gemm_prepacked(params: &GemmParams, a: MatRef, b: &PackedB, c: MatMut) -> Result<()> {
    kernels().gemm_prepacked(params, a, b, c)
}

impl Kernels {
    /// `C = act(alpha * A * B + beta * C + bias)` for `A: MxK`, `B: KxN`, `C: MxN`, any strides.
    pub fn gemm(&self, params: &GemmParams, a: MatRef, b: MatRef, c: MatMut) -> Result<()> {
        check(params, (a.rows, a.cols), (b.rows, b.cols), &c)?;
        driver::run(
            self,
            params,
            driver::ASource::Strided(a),
            driver::BSource::Strided(b),
            c,
        );
        Ok(())
    }

    /// [`Kernels::gemm`] with A packed ahead of time by [`PackedA::with_kernels`] for a table
    /// with the same tile height and depth blocking (any other is an error). Bit-identical to
    /// [`Kernels::gemm`] with the unpacked A, except where that takes a GEMV shortcut
    /// (`M == 1` or `N == 1`; this always runs the blocked product).
    pub fn gemm_packed_a(
        &self,
        params: &GemmParams,
        a: &PackedA,
        b: MatRef,
        c: MatMut,
    ) -> Result<()> {
        if a.mr != self.mr || a.kc != self.blocking.kc.max(1) {
            return Err(KernelError::PackedMismatch {
                k: a.k,
                n: a.m,
                panel: a.mr,
                packed_for: a.kernel,
                want_k: b.rows,
                want_n: c.rows,
                want_panel: self.mr,
                kernel: self.name,
            });
        }
        check(params, (a.m, a.k), (b.rows, b.cols), &c)?;
        driver::run(
            self,
            params,
            driver::ASource::Packed(a),
            driver::BSource::Strided(b),
            c,
        );
        Ok(())
    }

    /// `C = act(A * B + bias)` with A packed by [`PackedA::with_kernels`] and B the column
    /// matrix of a convolution, unfolded block by block straight into the packed panels.
    pub(crate) fn gemm_im2col(
        &self,
        params: &GemmParams,
        a: &PackedA,
        b: Im2colSource,
        c: MatMut,
    ) -> Result<()> {
        let (k, n) = b.dims();
        if a.mr != self.mr || a.kc != self.blocking.kc.max(1) {
            return Err(KernelError::PackedMismatch {
                k: a.k,
                n: a.m,
                panel: a.mr,
                packed_for: a.kernel,
                want_k: k,
                want_n: c.rows,
                want_panel: self.mr,
                kernel: self.name,
            });
        }
        check(params, (a.m, a.k), (k, n), &c)?;
        driver::run(
            self,
            params,
            driver::ASource::Packed(a),
            driver::BSource::Im2col(b),
            c,
        );
        Ok(())
    }

    /// [`Kernels::gemm`] with B packed ahead of time by [`PackedB::with_kernels`] for a table
    /// with the same tile width (any other is an error).
    pub fn gemm_prepacked(
        &self,
        params: &GemmParams,
        a: MatRef,
        b: &PackedB,
        c: MatMut,
    ) -> Result<()> {
        if b.nr != self.nr {
            return Err(KernelError::PackedMismatch {
                k: b.k,
                n: b.n,
                panel: b.nr,
                packed_for: b.kernel,
                want_k: a.cols,
                want_n: c.cols,
                want_panel: self.nr,
                kernel: self.name,
            });
        }
        check(params, (a.rows, a.cols), (b.k, b.n), &c)?;
        driver::run(
            self,
            params,
            driver::ASource::Strided(a),
            driver::BSource::Packed(b.as_panels()),
            c,
        );
        Ok(())
    }
}

/// Validates shapes, bias length and activation before any kernel runs.
pub(crate) fn check(
    params: &GemmParams,
    a: (usize, usize),
    b: (usize, usize),
    c: &MatMut,
) -> Result<()> {
    if a.1 != b.0 || c.rows != a.0 || c.cols != b.1 {
        return Err(KernelError::ShapeMismatch {
            a,
            b,
            c: (c.rows, c.cols),
        });
    }
    // Packed copies of A and B (with padding to a tile) must be addressable.
    let padded = |x: usize| x.checked_add(32);
    let fits = |r: usize, c: usize| padded(r).zip(padded(c)).and_then(|(r, c)| r.checked_mul(c));
    if fits(a.0, a.1).is_none() || fits(b.0, b.1).is_none() {
        return Err(KernelError::TooLarge { a, b });
    }
    let bias = match params.bias {
        Bias::None => None,
        Bias::PerRow(v) => Some(("row", v.len(), c.rows)),
        Bias::PerCol(v) => Some(("column", v.len(), c.cols)),
    };
    if let Some((per, len, want)) = bias {
        if len != want {
            return Err(KernelError::BiasLength {
                per,
                len,
                rows: c.rows,
                cols: c.cols,
            });
        }
    }
    params.activation.validate()
}
