//! Normalizations: layer norm over the last axis (ONNX LayerNormalization with axis = -1)
//! and instance norm over each channel's plane of NCHW (InstanceNormalization).
//! Mean and variance are two-pass (no cancellation), summed in 8 lanes in a fixed order.

use crate::softmax::sum_lanes;
use crate::{kernels, KernelError, Kernels, Result};

/// The scale and shift applied after normalizing one row.
#[derive(Clone, Copy)]
pub(crate) enum Affine<'a> {
    /// One `(gamma, beta)` per element of the row (layer norm); beta may be absent.
    PerElement(&'a [f32], Option<&'a [f32]>),
    /// One `(gamma, beta)` for the whole row (instance norm: one channel).
    Scalar(f32, f32),
}

/// Row kernel `(src, dst, epsilon, affine)`. Safety: `src`, `dst` and per-element affine
/// slices have equal lengths; the CPU has the kernel's features.
pub(crate) type NormKernel = unsafe fn(&[f32], &mut [f32], f32, Affine);

/// `out = (x - mean) / sqrt(var + epsilon) * gamma + beta` over the last axis, whose length is
/// `gamma.len()` (`beta`, if given, as long).
pub fn layer_norm(
    x: &[f32],
    gamma: &[f32],
    beta: Option<&[f32]>,
    epsilon: f32,
    out: &mut [f32],
) -> Result<()> {
    kernels().layer_norm(x, gamma, beta, epsilon, out)
}

/// Instance norm of NCHW `x` with `gamma.len()` channels of `inner` (H * W) values each:
/// every `(n, c)` plane normalized, then scaled by `gamma[c]` and shifted by `beta[c]`.
pub fn instance_norm(
    x: &[f32],
    inner: usize,
    gamma: &[f32],
    beta: &[f32],
    epsilon: f32,
    out: &mut [f32],
) -> Result<()> {
    kernels().instance_norm(x, inner, gamma, beta, epsilon, out)
}

fn bad(op: &str, reason: String) -> KernelError {
    KernelError::BadConv {
        shape: op.to_string(),
        reason,
    }
}

impl Kernels {
    /// [`layer_norm`] with this table.
    pub fn layer_norm(
        &self,
        x: &[f32],
        gamma: &[f32],
        beta: Option<&[f32]>,
        epsilon: f32,
        out: &mut [f32],
    ) -> Result<()> {
        let n = gamma.len();
        let op = format!("layer norm over rows of {n}");
        if x.len() != out.len() || n == 0 || !x.len().is_multiple_of(n) {
            return Err(bad(
                &op,
                format!("input has {} values, output {}", x.len(), out.len()),
            ));
        }
        if beta.is_some_and(|b| b.len() != n) || epsilon.is_nan() || epsilon < 0.0 {
            return Err(bad(
                &op,
                "beta must match gamma; epsilon must be >= 0".into(),
            ));
        }
        for (src, dst) in x.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
            // SAFETY: the table only holds kernels this CPU runs; lengths match.
            unsafe { (self.norm)(src, dst, epsilon, Affine::PerElement(gamma, beta)) };
        }
        Ok(())
    }

    /// [`instance_norm`] with this table.
    pub fn instance_norm(
        &self,
        x: &[f32],
        inner: usize,
        gamma: &[f32],
        beta: &[f32],
        epsilon: f32,
        out: &mut [f32],
    ) -> Result<()> {
        let c = gamma.len();
        let op = format!("instance norm of {c} channels of {inner}");
        let block = c.saturating_mul(inner);
        if x.len() != out.len() || block == 0 || !x.len().is_multiple_of(block) || beta.len() != c {
            return Err(bad(
                &op,
                format!(
                    "input has {} values, output {}, beta {}",
                    x.len(),
                    out.len(),
                    beta.len()
                ),
            ));
        }
        if epsilon.is_nan() || epsilon < 0.0 {
            return Err(bad(&op, "epsilon must be >= 0".into()));
        }
        for (q, (src, dst)) in x
            .chunks_exact(inner)
            .zip(out.chunks_exact_mut(inner))
            .enumerate()
        {
            let affine = Affine::Scalar(gamma[q % c], beta[q % c]);
            // SAFETY: the table only holds kernels this CPU runs; lengths match.
            unsafe { (self.norm)(src, dst, epsilon, affine) };
        }
        Ok(())
    }
}

/// The row loop, for the arch wrappers to instantiate with their features.
#[inline(always)]
pub(crate) fn norm_row(src: &[f32], dst: &mut [f32], epsilon: f32, affine: Affine) {
    let n = src.len() as f32;
    let mean = sum_lanes(src) / n;
    for (d, &x) in dst.iter_mut().zip(src) {
        *d = (x - mean) * (x - mean);
    }
    let var = sum_lanes(dst) / n;
    let rstd = 1.0 / (var + epsilon).sqrt();
    match affine {
        Affine::PerElement(g, Some(b)) => {
            for (((d, &x), &g), &b) in dst.iter_mut().zip(src).zip(g).zip(b) {
                *d = (x - mean) * rstd * g + b;
            }
        }
        Affine::PerElement(g, None) => {
            for ((d, &x), &g) in dst.iter_mut().zip(src).zip(g) {
                *d = (x - mean) * rstd * g;
            }
        }
        Affine::Scalar(g, b) => {
            let scale = rstd * g;
            for (d, &x) in dst.iter_mut().zip(src) {
                *d = (x - mean) * scale + b;
            }
        }
    }
}

/// The portable row kernel.
pub(crate) unsafe fn norm_generic(src: &[f32], dst: &mut [f32], epsilon: f32, affine: Affine) {
    norm_row(src, dst, epsilon, affine)
}
