//! Softmax and log-softmax along the last axis of an `[outer, n]` array, numerically stable
//! (the row maximum is subtracted before `exp`), with the vectorized `exp` of `elementwise`.
//! Sums and maxima run in 8 lanes combined in a fixed order: results are deterministic.

use crate::elementwise::math;
use crate::{kernels, KernelError, Kernels, Result};

/// `out[r, i] = e^(x[r, i] - max_r) / sum_j e^(x[r, j] - max_r)` for rows of `n` values.
pub fn softmax(x: &[f32], out: &mut [f32], n: usize) -> Result<()> {
    kernels().softmax(Some(x), out, n, false)
}

/// [`softmax`] in place.
pub fn softmax_inplace(xs: &mut [f32], n: usize) -> Result<()> {
    kernels().softmax(None, xs, n, false)
}

/// `out[r, i] = x[r, i] - max_r - ln sum_j e^(x[r, j] - max_r)` for rows of `n` values.
pub fn log_softmax(x: &[f32], out: &mut [f32], n: usize) -> Result<()> {
    kernels().softmax(Some(x), out, n, true)
}

/// Row kernel `(src, dst, log)`: (log-)softmax of one row, in place when `src` is `None`.
/// Safety: `src` has `dst.len()` values; the CPU has the kernel's features.
pub(crate) type SoftmaxKernel = unsafe fn(Option<&[f32]>, &mut [f32], bool);

impl Kernels {
    /// (Log-)softmax of rows of `n` values from `x` (or `out` in place when `None`) into `out`.
    pub fn softmax(&self, x: Option<&[f32]>, out: &mut [f32], n: usize, log: bool) -> Result<()> {
        let bad = |reason: String| KernelError::BadConv {
            shape: format!("softmax over rows of {n}"),
            reason,
        };
        if let Some(x) = x {
            if x.len() != out.len() {
                return Err(bad(format!(
                    "input has {} values, output {}",
                    x.len(),
                    out.len()
                )));
            }
        }
        if n == 0 {
            return if out.is_empty() {
                Ok(())
            } else {
                Err(bad("rows of 0 values".into()))
            };
        }
        if !out.len().is_multiple_of(n) {
            return Err(bad(format!("{} values are not whole rows", out.len())));
        }
        for (r, row) in out.chunks_exact_mut(n).enumerate() {
            let src = x.map(|x| &x[r * n..(r + 1) * n]);
            // SAFETY: the table only holds kernels this CPU runs; lengths match.
            unsafe { (self.softmax)(src, row, log) };
        }
        Ok(())
    }
}

/// Lanes of the reductions.
const L: usize = 8;

/// Maximum of a non-empty slice (NaN-ignoring, like `f32::max`).
#[inline(always)]
pub(crate) fn max_lanes(xs: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; L];
    let mut chunks = xs.chunks_exact(L);
    for c in &mut chunks {
        for l in 0..L {
            acc[l] = if c[l] > acc[l] { c[l] } else { acc[l] };
        }
    }
    let mut m = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |m, &x| m.max(x));
    for a in acc {
        m = m.max(a);
    }
    m
}

/// Sum of a slice, 8 lanes combined pairwise.
#[inline(always)]
pub(crate) fn sum_lanes(xs: &[f32]) -> f32 {
    let mut acc = [0f32; L];
    let mut chunks = xs.chunks_exact(L);
    for c in &mut chunks {
        for l in 0..L {
            acc[l] += c[l];
        }
    }
    let tail: f32 = chunks.remainder().iter().sum();
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// `sum e^(x - m)` without storing the exponentials.
#[inline(always)]
fn sum_exp(xs: &[f32], m: f32) -> f32 {
    let mut acc = [0f32; L];
    let mut chunks = xs.chunks_exact(L);
    for c in &mut chunks {
        for l in 0..L {
            acc[l] += math::exp(c[l] - m);
        }
    }
    let tail: f32 = chunks.remainder().iter().map(|&x| math::exp(x - m)).sum();
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// The row loop, for the arch wrappers to instantiate with their features.
#[inline(always)]
pub(crate) fn softmax_row(src: Option<&[f32]>, dst: &mut [f32], log: bool) {
    let m = max_lanes(src.unwrap_or(dst));
    if log {
        let shift = m + (sum_exp(src.unwrap_or(dst), m) as f64).ln() as f32;
        match src {
            Some(src) => {
                for (d, &x) in dst.iter_mut().zip(src) {
                    *d = x - shift;
                }
            }
            None => {
                for d in dst.iter_mut() {
                    *d -= shift;
                }
            }
        }
        return;
    }
    match src {
        Some(src) => {
            for (d, &x) in dst.iter_mut().zip(src) {
                *d = math::exp(x - m);
            }
        }
        None => {
            for d in dst.iter_mut() {
                *d = math::exp(*d - m);
            }
        }
    }
    let inv = 1.0 / sum_lanes(dst);
    for d in dst.iter_mut() {
        *d *= inv;
    }
}

/// The portable row kernel.
pub(crate) unsafe fn softmax_generic(src: Option<&[f32]>, dst: &mut [f32], log: bool) {
    softmax_row(src, dst, log)
}
