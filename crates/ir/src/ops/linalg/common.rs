//! Shared matrix kernels: a cache-blocked matrix product used by MatMul, Gemm and the
//! convolutions in `ops/nn`, plus float conversions for dtypes computed in a wider type.

use crate::{bail, Result};
use edgeopt_tensor::{bf16, f16, DType, Tensor};

/// Element types the matrix kernel multiplies. Integers wrap on overflow, like numpy.
pub trait Scalar: Copy + Send + Sync + Default + 'static {
    fn mul_add(acc: Self, a: Self, b: Self) -> Self;
}

impl Scalar for f32 {
    #[inline(always)]
    fn mul_add(acc: f32, a: f32, b: f32) -> f32 {
        acc + a * b
    }
}

impl Scalar for f64 {
    #[inline(always)]
    fn mul_add(acc: f64, a: f64, b: f64) -> f64 {
        acc + a * b
    }
}

macro_rules! int_scalar {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            #[inline(always)]
            fn mul_add(acc: $t, a: $t, b: $t) -> $t {
                acc.wrapping_add(a.wrapping_mul(b))
            }
        }
    )*};
}
int_scalar!(i8, u8, i16, u16, i32, u32, i64, u64);

/// Column block: a `KC x NC` panel of B (256 KiB in f32) stays in L2 while rows of A sweep it.
const NC: usize = 256;
const KC: usize = 256;

/// `C[m x n] += A[m x k] * B[k x n]`, all row-major with leading dimensions `lda`, `ldb`, `ldc`.
///
/// Loop order is i-k-j over cache blocks, four rows of A at a time, so the innermost loop reads
/// one contiguous row of B and updates four contiguous rows of C (vectorizable, B loaded once
/// per four rows).
#[allow(clippy::too_many_arguments)]
pub fn gemm_acc<T: Scalar>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    lda: usize,
    b: &[T],
    ldb: usize,
    c: &mut [T],
    ldc: usize,
) {
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    for j0 in (0..n).step_by(NC) {
        let nb = NC.min(n - j0);
        for p0 in (0..k).step_by(KC) {
            let kb = KC.min(k - p0);
            let bp = &b[p0 * ldb + j0..];
            let mut i = 0;
            while i + 4 <= m {
                let rows = [0, 1, 2, 3].map(|r| &a[(i + r) * lda + p0..][..kb]);
                rows4(rows, bp, ldb, nb, &mut c[i * ldc + j0..], ldc);
                i += 4;
            }
            while i < m {
                let ar = &a[i * lda + p0..][..kb];
                row1(ar, bp, ldb, nb, &mut c[i * ldc + j0..][..nb]);
                i += 1;
            }
        }
    }
}

#[inline(always)]
fn rows4<T: Scalar>(a: [&[T]; 4], b: &[T], ldb: usize, nb: usize, c: &mut [T], ldc: usize) {
    let (c0, rest) = c.split_at_mut(ldc);
    let (c1, rest) = rest.split_at_mut(ldc);
    let (c2, c3) = rest.split_at_mut(ldc);
    let (c0, c1, c2, c3) = (&mut c0[..nb], &mut c1[..nb], &mut c2[..nb], &mut c3[..nb]);
    for p in 0..a[0].len() {
        let br = &b[p * ldb..][..nb];
        let (x0, x1, x2, x3) = (a[0][p], a[1][p], a[2][p], a[3][p]);
        for j in 0..nb {
            let v = br[j];
            c0[j] = T::mul_add(c0[j], x0, v);
            c1[j] = T::mul_add(c1[j], x1, v);
            c2[j] = T::mul_add(c2[j], x2, v);
            c3[j] = T::mul_add(c3[j], x3, v);
        }
    }
}

#[inline(always)]
fn row1<T: Scalar>(a: &[T], b: &[T], ldb: usize, nb: usize, c: &mut [T]) {
    for (p, &x) in a.iter().enumerate() {
        let br = &b[p * ldb..][..nb];
        for (cv, &v) in c.iter_mut().zip(br) {
            *cv = T::mul_add(*cv, x, v);
        }
    }
}

/// Product of counts as u64, saturating instead of overflowing (costs of absurd static shapes).
pub fn count_product(factors: &[usize]) -> u64 {
    factors
        .iter()
        .fold(1u128, |acc, &f| acc.saturating_mul(f as u128))
        .min(u64::MAX as u128) as u64
}

/// Row-major transpose of a `rows x cols` matrix.
pub fn transpose<T: Copy>(x: &[T], rows: usize, cols: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(rows * cols);
    for j in 0..cols {
        out.extend((0..rows).map(|i| x[i * cols + j]));
    }
    out
}

/// Float tensors as f32 (f16/bf16 widened), for kernels that compute in f32.
pub fn float_to_f32(t: &Tensor) -> Result<Vec<f32>> {
    Ok(match t.dtype() {
        DType::F32 => t.to_vec::<f32>()?,
        DType::F16 => t.as_slice::<f16>()?.iter().map(|v| v.to_f32()).collect(),
        DType::BF16 => t.as_slice::<bf16>()?.iter().map(|v| v.to_f32()).collect(),
        d => bail!("expected f32, f16 or bf16, got {d}"),
    })
}

/// Builds an f32, f16 or bf16 tensor from f32 values (rounding to nearest).
pub fn f32_to_float(dtype: DType, shape: Vec<usize>, v: Vec<f32>) -> Result<Tensor> {
    Ok(match dtype {
        DType::F32 => Tensor::from_vec(shape, v)?,
        DType::F16 => {
            Tensor::from_vec(shape, v.into_iter().map(f16::from_f32).collect::<Vec<_>>())?
        }
        DType::BF16 => {
            Tensor::from_vec(shape, v.into_iter().map(bf16::from_f32).collect::<Vec<_>>())?
        }
        d => bail!("expected f32, f16 or bf16, got {d}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, n: usize, k: usize, a: &[f64], b: &[f64]) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        c
    }

    #[test]
    fn blocked_product_matches_naive_on_odd_sizes() {
        // Sizes straddle the 4-row and the 256 block edges.
        for &(m, n, k) in &[(1, 1, 1), (5, 3, 7), (9, 300, 260), (4, 257, 3)] {
            let a: Vec<f64> = (0..m * k).map(|i| ((i * 7) % 11) as f64 - 5.0).collect();
            let b: Vec<f64> = (0..k * n).map(|i| ((i * 5) % 13) as f64 - 6.0).collect();
            let mut c = vec![0.0; m * n];
            gemm_acc(m, n, k, &a, k, &b, n, &mut c, n);
            assert_eq!(c, naive(m, n, k, &a, &b), "m={m} n={n} k={k}");
        }
    }

    #[test]
    fn integers_wrap() {
        let mut c = [0u8];
        gemm_acc(1, 1, 2, &[200u8, 100], 2, &[2u8, 1], 1, &mut c, 1);
        assert_eq!(c[0], ((400u32 + 100) % 256) as u8);
    }
}
