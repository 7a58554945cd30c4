//! Sparse-weight fp32 products: a weight matrix in CSR form times a dense matrix, for 1x1
//! convolutions and fully-connected layers whose weights were pruned.
//!
//! Two products, both with a fused per-output bias and activation:
//! - [`CsrMatrix::matmul`]: `Y[M x N] = act(W[M x K] * X[K x N] + bias)`, the 1x1-convolution
//!   layout (NCHW: X is `Cin x HW`). For each nonzero `w[m, k]` the kernel broadcasts `w` and
//!   multiplies it into 8-64 consecutive columns of row `k` of X, so the work is proportional to
//!   the nonzeros and every load of X is a contiguous vector.
//! - [`CsrMatrix::matmul_t`]: `Y[N x M] = act(X[N x K] * W^T + bias)`, the ONNX `Gemm` layout
//!   (transB = 1) at small batch: one sparse dot product per output.
//!
//! The AVX2+FMA path (AVX-512 for wide products where the dense table is AVX-512) is picked
//! at run time (and by `EDGEOPT_KERNELS=generic` like the dense kernels); the portable path
//! is its twin in the tests.

mod csr;
mod generic;
mod spmm;
#[cfg(target_arch = "x86_64")]
mod x86_64_avx512;
#[cfg(target_arch = "x86_64")]
mod x86_64_fma;

pub use csr::{CsrMatrix, KBLOCK};

use crate::{kernels, Activation, KernelError, Result};

/// Which implementation a sparse product runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SparseImpl {
    /// Plain Rust, for every CPU.
    Generic,
    /// AVX2 + FMA intrinsics (x86-64 only, when the CPU has them).
    Avx2Fma,
    /// AVX-512F for wide products (1x1 convolutions), AVX2 + FMA for the rest.
    Avx512,
}

impl SparseImpl {
    /// The implementation matching the process's dense kernel table ([`crate::kernels`]).
    pub fn native() -> SparseImpl {
        match kernels().name() {
            "x86_64_avx512" => SparseImpl::Avx512,
            "x86_64_fma" => SparseImpl::Avx2Fma,
            _ => SparseImpl::Generic,
        }
    }

    /// Whether this CPU can run the implementation (allocation-free, unlike
    /// [`SparseImpl::available`]).
    pub fn is_supported(self) -> bool {
        match self {
            SparseImpl::Generic => true,
            #[cfg(target_arch = "x86_64")]
            SparseImpl::Avx2Fma => {
                is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            SparseImpl::Avx512 => {
                SparseImpl::Avx2Fma.is_supported() && is_x86_feature_detected!("avx512f")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// Every implementation usable on this CPU, generic first (for tests and benchmarks).
    pub fn available() -> Vec<SparseImpl> {
        #[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut))]
        let mut all = vec![SparseImpl::Generic];
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            all.push(SparseImpl::Avx2Fma);
            if is_x86_feature_detected!("avx512f") {
                all.push(SparseImpl::Avx512);
            }
        }
        all
    }
}

fn check_bias(bias: Option<&[f32]>, rows: usize, cols: usize, per: &'static str) -> Result<()> {
    let want = if per == "row" { rows } else { cols };
    match bias {
        Some(b) if b.len() != want => Err(KernelError::BiasLength {
            per,
            len: b.len(),
            rows,
            cols,
        }),
        _ => Ok(()),
    }
}

impl CsrMatrix {
    /// `y = act(self * x + bias)` with `x` a row-major `K x n` matrix, `y` a row-major `M x n`
    /// one, `bias` one value per row of `y`, on the native implementation. Allocates its
    /// workspace; [`CsrMatrix::matmul_with`] takes one instead.
    pub fn matmul(
        &self,
        x: &[f32],
        n: usize,
        y: &mut [f32],
        bias: Option<&[f32]>,
        act: Activation,
    ) -> Result<()> {
        let mut scratch = vec![0f32; self.matmul_scratch_len(n)];
        self.matmul_with(SparseImpl::native(), x, n, y, bias, act, &mut scratch)
    }

    /// Floats of scratch [`CsrMatrix::matmul_with`] needs for an X of `n` columns, on any
    /// implementation.
    pub fn matmul_scratch_len(&self, n: usize) -> usize {
        spmm::scratch_len(self.cols(), n)
    }

    /// [`CsrMatrix::matmul`] on a chosen implementation, with a caller-provided workspace of
    /// at least [`CsrMatrix::matmul_scratch_len`] floats (contents unspecified): allocates
    /// nothing.
    #[allow(clippy::too_many_arguments)]
    pub fn matmul_with(
        &self,
        imp: SparseImpl,
        x: &[f32],
        n: usize,
        y: &mut [f32],
        bias: Option<&[f32]>,
        act: Activation,
        scratch: &mut [f32],
    ) -> Result<()> {
        let (m, k) = (self.rows(), self.cols());
        let fits = |len: usize, rows: usize| rows.checked_mul(n) == Some(len);
        if !fits(x.len(), k) || !fits(y.len(), m) {
            return Err(KernelError::ShapeMismatch {
                a: (m, k),
                b: (x.len() / n.max(1), n),
                c: (y.len() / n.max(1), n),
            });
        }
        check_bias(bias, m, n, "row")?;
        self.check_scratch(scratch, self.matmul_scratch_len(n), n)?;
        act.validate()?;
        let clamp = fused_clamp(act);
        self.spmm(imp, x, n, y, bias, clamp, scratch);
        if clamp.is_none() && act != Activation::None {
            kernels().activate(y, act)?;
        }
        Ok(())
    }

    fn check_scratch(&self, scratch: &[f32], needed: usize, n: usize) -> Result<()> {
        if scratch.len() < needed {
            return Err(KernelError::ScratchTooShort {
                kernel: format!(
                    "sparse {}x{} x {}x{n}",
                    self.rows(),
                    self.cols(),
                    self.cols()
                ),
                needed,
                len: scratch.len(),
            });
        }
        Ok(())
    }

    /// `y = clamp(self * x + bias)` on `imp` (extents and scratch checked by the caller).
    #[allow(clippy::too_many_arguments)]
    fn spmm(
        &self,
        imp: SparseImpl,
        x: &[f32],
        n: usize,
        y: &mut [f32],
        bias: Option<&[f32]>,
        clamp: Option<(f32, f32)>,
        scratch: &mut [f32],
    ) {
        match imp {
            #[cfg(target_arch = "x86_64")]
            SparseImpl::Avx512 if n >= 32 && imp.is_supported() => {
                // SAFETY: the CPU has AVX-512F, AVX2 and FMA.
                unsafe { spmm::spmm::<x86_64_avx512::Avx512>(self, x, n, y, bias, clamp, scratch) }
            }
            #[cfg(target_arch = "x86_64")]
            SparseImpl::Avx2Fma | SparseImpl::Avx512 if imp.is_supported() => {
                // SAFETY: the CPU has AVX2 and FMA.
                unsafe { spmm::spmm::<x86_64_fma::Avx2>(self, x, n, y, bias, clamp, scratch) }
            }
            // SAFETY: the portable pass needs no CPU feature.
            _ => unsafe { spmm::spmm::<generic::Generic>(self, x, n, y, bias, clamp, scratch) },
        }
    }

    /// `y = act(x * self^T + bias)` with `x` a row-major `batch x K` matrix, `y` a row-major
    /// `batch x M` one and `bias` one value per column of `y` (an ONNX Gemm with transB = 1),
    /// on the native implementation. Allocates its workspace; [`CsrMatrix::matmul_t_with`]
    /// takes one instead.
    pub fn matmul_t(
        &self,
        x: &[f32],
        batch: usize,
        y: &mut [f32],
        bias: Option<&[f32]>,
        act: Activation,
    ) -> Result<()> {
        let mut scratch = vec![0f32; self.matmul_t_scratch_len(batch)];
        self.matmul_t_with(SparseImpl::native(), x, batch, y, bias, act, &mut scratch)
    }

    /// Floats of scratch [`CsrMatrix::matmul_t_with`] needs for `batch` rows of X, on any
    /// implementation: none for one row, else `X^T` and `Y^T` (batch rounded up to 8) and the
    /// product's own panel.
    pub fn matmul_t_scratch_len(&self, batch: usize) -> usize {
        if batch < 2 {
            return 0;
        }
        let nb = batch.next_multiple_of(8);
        self.cols() * nb + spmm::ALIGN_PAD + self.rows() * nb + spmm::scratch_len(self.cols(), nb)
    }

    /// [`CsrMatrix::matmul_t`] on a chosen implementation, with a caller-provided workspace of
    /// at least [`CsrMatrix::matmul_t_scratch_len`] floats (contents unspecified): allocates
    /// nothing.
    #[allow(clippy::too_many_arguments)]
    pub fn matmul_t_with(
        &self,
        imp: SparseImpl,
        x: &[f32],
        batch: usize,
        y: &mut [f32],
        bias: Option<&[f32]>,
        act: Activation,
        scratch: &mut [f32],
    ) -> Result<()> {
        let (m, k) = (self.rows(), self.cols());
        let fits = |len: usize, cols: usize| batch.checked_mul(cols) == Some(len);
        if !fits(x.len(), k) || !fits(y.len(), m) {
            return Err(KernelError::ShapeMismatch {
                a: (x.len() / k.max(1), k),
                b: (k, m),
                c: (batch, y.len() / batch.max(1)),
            });
        }
        check_bias(bias, batch, m, "column")?;
        self.check_scratch(scratch, self.matmul_t_scratch_len(batch), batch)?;
        act.validate()?;
        let clamp = fused_clamp(act);
        if batch >= 2 {
            self.matmul_t_batched(imp, x, batch, y, bias, clamp, scratch);
        } else {
            // One sparse dot per output. An AVX2 version gathering 8 inputs at a time measured
            // 1.6x slower than this scalar loop on the Xeon here (gathers are slow), so every
            // implementation shares it.
            for b in 0..batch {
                let (xb, yb) = (&x[b * k..][..k], &mut y[b * m..][..m]);
                match imp {
                    #[cfg(target_arch = "x86_64")]
                    SparseImpl::Avx2Fma | SparseImpl::Avx512 if imp.is_supported() => {
                        // SAFETY: the CPU has AVX2 and FMA; xb holds K values.
                        unsafe { x86_64_fma::dots(self, xb, yb, bias) }
                    }
                    _ => self.dots(xb, yb, bias),
                }
            }
        }
        let fused = clamp.is_some() && batch >= 2;
        if !fused && act != Activation::None {
            kernels().activate(y, act)?;
        }
        Ok(())
    }

    /// `y = x * self^T + bias` for `batch >= 2` rows through the column layout: `X^T`
    /// (`K x B`, B = batch rounded up to 8 with zero columns) times the CSR matrix gives `Y^T`,
    /// so each nonzero costs one broadcast and `B / 8` vector FMAs instead of `batch` scalar
    /// gathers. `X^T`, `Y^T` and the product's panel live in `scratch`.
    #[allow(clippy::too_many_arguments)]
    fn matmul_t_batched(
        &self,
        imp: SparseImpl,
        x: &[f32],
        batch: usize,
        y: &mut [f32],
        bias: Option<&[f32]>,
        clamp: Option<(f32, f32)>,
        scratch: &mut [f32],
    ) {
        let (m, k) = (self.rows(), self.cols());
        let nb = batch.next_multiple_of(8);
        let (xt, rest) = scratch.split_at_mut(k * nb + spmm::ALIGN_PAD);
        let (yt, panel) = rest.split_at_mut(m * nb);
        let xs = spmm::aligned(xt, k * nb);
        for (p, col) in xs.chunks_exact_mut(nb).enumerate() {
            for (b, v) in col[..batch].iter_mut().enumerate() {
                *v = x[b * k + p];
            }
            col[batch..].fill(0.0);
        }
        self.spmm(imp, xs, nb, yt, bias, clamp, panel);
        for (r, row) in yt.chunks_exact(nb).enumerate() {
            for (b, v) in row[..batch].iter().enumerate() {
                y[b * m + r] = *v;
            }
        }
    }

    /// `y[r] = bias[r] + sum_j w[r, j] * x[j]` for every row (eight independent sums per row).
    fn dots(&self, x: &[f32], y: &mut [f32], bias: Option<&[f32]>) {
        debug_assert_eq!(x.len(), self.cols());
        for (r, out) in y.iter_mut().enumerate() {
            let (cols, vals) = self.row(r);
            let mut acc = [0f32; 8];
            let mut chunks = cols.chunks_exact(8).zip(vals.chunks_exact(8));
            for (c, v) in &mut chunks {
                for l in 0..8 {
                    // SAFETY: column indices are < cols (from_dense) and x.len() == cols (the
                    // caller checked the extents).
                    acc[l] += v[l] * unsafe { *x.get_unchecked(c[l] as usize) };
                }
            }
            let done = cols.len() / 8 * 8;
            let mut s =
                ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
            for (c, v) in cols[done..].iter().zip(&vals[done..]) {
                s += v * x[*c as usize];
            }
            *out = s + bias.map_or(0.0, |b| b[r]);
        }
    }
}

/// The activations the sparse passes apply in registers before the store, as
/// `min(max(y, lo), hi)` (the same operations, in the same order, as the dense kernels').
fn fused_clamp(act: Activation) -> Option<(f32, f32)> {
    match act {
        Activation::Relu => Some((0.0, f32::INFINITY)),
        Activation::Clip { min, max } => Some((min, max)),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
