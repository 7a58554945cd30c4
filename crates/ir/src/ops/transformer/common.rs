//! Helpers shared by the attention-style ops: precision emulation, head (un)packing, symbolic
//! dim arithmetic and a masked softmax.
//!
//! The reference kernels compute in f64 but round to the tensor's dtype wherever the ONNX
//! reference implementation materializes an intermediate tensor, so half-precision results
//! follow the reference's rounding instead of being "more exact" than it.

use crate::{bail, Result};
use edgeopt_tensor::{bf16, f16, DType, Dim};

/// Rounding of an f64 to the precision of a float dtype.
pub type Round = fn(f64) -> f64;

fn round_f32(x: f64) -> f64 {
    x as f32 as f64
}
fn round_f64(x: f64) -> f64 {
    x
}
fn round_f16(x: f64) -> f64 {
    f16::from_f64(x).to_f64()
}
fn round_bf16(x: f64) -> f64 {
    bf16::from_f64(x).to_f64()
}

/// The rounding function for a float dtype; errors name `op` for other dtypes.
pub fn rounder(op: &str, dt: DType) -> Result<Round> {
    Ok(match dt {
        DType::F32 => round_f32,
        DType::F64 => round_f64,
        DType::F16 => round_f16,
        DType::BF16 => round_bf16,
        d => bail!("{op}: expected a float tensor (f16, bf16, f32, f64), got {d}"),
    })
}

/// Float dtype from an ONNX `TensorProto.DataType` code used as an attribute
/// (`softmax_precision`, restricted to the four float types).
pub fn float_dtype_attr(op: &str, name: &str, code: i64) -> Result<DType> {
    match i32::try_from(code).ok().and_then(DType::from_onnx_code) {
        Some(d @ (DType::F32 | DType::F64 | DType::F16 | DType::BF16)) => Ok(d),
        _ => bail!("{op}: attribute {name}={code} is not a float type code (1, 10, 11 or 16)"),
    }
}

/// Packed `(b, s, heads * d)` to `(b, heads, s, d)`.
pub fn unpack_heads(x: &[f64], b: usize, s: usize, heads: usize, d: usize) -> Vec<f64> {
    let mut out = vec![0.0; x.len()];
    for bi in 0..b {
        for si in 0..s {
            for h in 0..heads {
                let src = ((bi * s + si) * heads + h) * d;
                let dst = ((bi * heads + h) * s + si) * d;
                out[dst..dst + d].copy_from_slice(&x[src..src + d]);
            }
        }
    }
    out
}

/// `(b, heads, s, d)` to packed `(b, s, heads * d)`.
pub fn pack_heads(x: &[f64], b: usize, heads: usize, s: usize, d: usize) -> Vec<f64> {
    let mut out = vec![0.0; x.len()];
    for bi in 0..b {
        for h in 0..heads {
            for si in 0..s {
                let src = ((bi * heads + h) * s + si) * d;
                let dst = ((bi * s + si) * heads + h) * d;
                out[dst..dst + d].copy_from_slice(&x[src..src + d]);
            }
        }
    }
    out
}

/// A 3-D `(b, s, hidden)` or 4-D `(b, heads, s, d)` tensor as 4-D data and its dims
/// `[b, heads, s, d]`. 3-D inputs need `heads` (an attribute) that divides `hidden`.
pub fn as_4d(
    op: &str,
    name: &str,
    data: Vec<f64>,
    shape: &[usize],
    heads: Option<usize>,
) -> Result<(Vec<f64>, [usize; 4])> {
    match *shape {
        [b, h, s, d] => Ok((data, [b, h, s, d])),
        [b, s, hidden] => {
            let Some(h) = heads.filter(|&h| h > 0) else {
                bail!("{op}: {name} is 3-D {shape:?}, which needs the num_heads attribute")
            };
            if hidden % h != 0 {
                bail!("{op}: {name} hidden size {hidden} (shape {shape:?}) is not divisible by {h} heads");
            }
            let d = hidden / h;
            Ok((unpack_heads(&data, b, s, h, d), [b, h, s, d]))
        }
        _ => bail!("{op}: {name} must be 3-D or 4-D, got shape {shape:?}"),
    }
}

pub fn dim_add(a: &Dim, b: &Dim) -> Dim {
    match (a, b) {
        (Dim::Known(x), Dim::Known(y)) => Dim::Known(x + y),
        (Dim::Known(0), o) | (o, Dim::Known(0)) => o.clone(),
        _ => Dim::Unknown,
    }
}

pub fn dim_mul(a: &Dim, b: &Dim) -> Dim {
    match (a, b) {
        (Dim::Known(x), Dim::Known(y)) => Dim::Known(x * y),
        (Dim::Known(1), o) | (o, Dim::Known(1)) => o.clone(),
        _ => Dim::Unknown,
    }
}

/// `a / k` when `a` is known (and divisible), else unknown.
pub fn dim_div(a: &Dim, k: usize) -> Dim {
    match a {
        Dim::Known(x) if k > 0 && x % k == 0 => Dim::Known(x / k),
        o if k == 1 => o.clone(),
        _ => Dim::Unknown,
    }
}

/// Softmax of one row in place, rounding to `r` where numpy materializes arrays. A row that
/// is entirely `-inf` gives zeros (the ONNX reference's fully-masked-row convention).
/// `stepwise` rounds every partial sum, as numpy does when reducing bf16 (ml_dtypes), while
/// builtin float sums accumulate at higher precision.
pub fn softmax_row(row: &mut [f64], r: Round, stepwise: bool) {
    let max = row.iter().copied().fold(f64::NEG_INFINITY, |m, x| {
        if x.is_nan() || m.is_nan() {
            f64::NAN
        } else {
            m.max(x)
        }
    });
    let safe = if max == f64::NEG_INFINITY { 0.0 } else { max };
    let mut sum = 0.0;
    for x in row.iter_mut() {
        *x = r(r(*x - safe).exp());
        sum = if stepwise { r(sum + *x) } else { sum + *x };
    }
    let sum = if r(sum) == 0.0 { 1.0 } else { r(sum) };
    for x in row.iter_mut() {
        *x = r(*x / sum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_round_trip() {
        let x: Vec<f64> = (0..24).map(|v| v as f64).collect();
        let u = unpack_heads(&x, 2, 3, 2, 2);
        // (b=0, h=1, s=0) holds packed elements 2..4.
        assert_eq!(&u[6..8], &[2.0, 3.0]);
        assert_eq!(pack_heads(&u, 2, 2, 3, 2), x);
    }

    #[test]
    fn softmax_masked_rows_are_zero() {
        let mut r = [f64::NEG_INFINITY; 3];
        softmax_row(&mut r, round_f64, false);
        assert_eq!(r, [0.0; 3]);
        let mut r = [0.0, (2f64).ln(), f64::NEG_INFINITY];
        softmax_row(&mut r, round_f64, false);
        assert!(
            (r[0] - 1.0 / 3.0).abs() < 1e-12 && (r[1] - 2.0 / 3.0).abs() < 1e-12 && r[2] == 0.0
        );
    }
}
