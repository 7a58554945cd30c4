//! Naive references: the plain-Rust twins every optimized kernel is tested against. They
//! accumulate in f64 with a triple loop, so their own rounding error is negligible next to
//! the f32 kernels'.

use crate::gemm::check;
use crate::{Bias, GemmParams, MatMut, MatRef, Result};

/// `C = act(alpha * A * B + beta * C + bias)` like [`crate::Kernels::gemm`], in f64.
/// Single-threaded whatever `params.threads` says.
pub fn gemm(params: &GemmParams, a: MatRef, b: MatRef, c: MatMut) -> Result<()> {
    check(params, (a.rows, a.cols), (b.rows, b.cols), &c)?;
    for i in 0..c.rows {
        for j in 0..c.cols {
            let mut dot = 0f64;
            for p in 0..a.cols {
                dot += a.at(i, p) as f64 * b.at(p, j) as f64;
            }
            let out = &mut c.data[i * c.rs + j * c.cs];
            let mut x = params.alpha as f64 * dot;
            if params.beta != 0.0 {
                x += params.beta as f64 * *out as f64;
            }
            x += match params.bias {
                Bias::None => 0.0,
                Bias::PerRow(v) => v[i] as f64,
                Bias::PerCol(v) => v[j] as f64,
            };
            *out = params.activation.apply_f64(x) as f32;
        }
    }
    Ok(())
}

/// The scale of each output's rounding error, as a row-major `M x N` vector:
/// `|alpha| * sum_p |a_ip * b_pj|` plus `|beta * c_ij|` plus `|bias|`. Tests allow a relative
/// error against this, not against the result, which may cancel to near zero.
pub fn magnitude(params: &GemmParams, a: MatRef, b: MatRef, c: MatRef) -> Vec<f64> {
    let mut out = Vec::with_capacity(a.rows * b.cols);
    for i in 0..a.rows {
        for j in 0..b.cols {
            let dot: f64 = (0..a.cols)
                .map(|p| (a.at(i, p) as f64 * b.at(p, j) as f64).abs())
                .sum();
            let prev = if params.beta != 0.0 {
                (params.beta * c.at(i, j)).abs() as f64
            } else {
                0.0
            };
            let bias = match params.bias {
                Bias::None => 0.0,
                Bias::PerRow(v) => v[i].abs() as f64,
                Bias::PerCol(v) => v[j].abs() as f64,
            };
            out.push(params.alpha.abs() as f64 * dot + prev + bias);
        }
    }
    out
}
