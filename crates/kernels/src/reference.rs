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

/// Naive direct convolution in f64 (ONNX `Conv` on NCHW / OIHW): returns the output and, per
/// output, the magnitude `sum |w * x| + |bias|` that bounds its rounding error.
pub fn conv2d(
    s: &crate::conv::Conv2dShape,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    activation: crate::Activation,
) -> Result<(Vec<f32>, Vec<f64>)> {
    s.validate()?;
    let (oh, ow) = (s.out_h(), s.out_w());
    let (cin_g, cout_g) = (s.in_channels / s.groups, s.out_channels / s.groups);
    let mut out = Vec::with_capacity(s.output_len());
    let mut mag = Vec::with_capacity(s.output_len());
    for b in 0..s.batch {
        for o in 0..s.out_channels {
            let g = o / cout_g;
            let b0 = bias.map_or(0.0, |v| v[o] as f64);
            for oy in 0..oh {
                for ox in 0..ow {
                    let (mut acc, mut m) = (b0, b0.abs());
                    for c in 0..cin_g {
                        let ci = g * cin_g + c;
                        for i in 0..s.kernel_h {
                            let iy =
                                (oy * s.stride_h + i * s.dilation_h) as isize - s.pad_top as isize;
                            if iy < 0 || iy >= s.in_h as isize {
                                continue;
                            }
                            for j in 0..s.kernel_w {
                                let ix = (ox * s.stride_w + j * s.dilation_w) as isize
                                    - s.pad_left as isize;
                                if ix < 0 || ix >= s.in_w as isize {
                                    continue;
                                }
                                let x = input[((b * s.in_channels + ci) * s.in_h + iy as usize)
                                    * s.in_w
                                    + ix as usize] as f64;
                                let w = weight[((o * cin_g + c) * s.kernel_h + i) * s.kernel_w + j]
                                    as f64;
                                acc += x * w;
                                m += (x * w).abs();
                            }
                        }
                    }
                    out.push(activation.apply_f64(acc) as f32);
                    mag.push(m);
                }
            }
        }
    }
    Ok((out, mag))
}
