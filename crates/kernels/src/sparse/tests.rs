//! Sparse products against a naive f64 dense product, on every implementation.

use proptest::prelude::*;

use super::{CsrMatrix, SparseImpl};
use crate::Activation;

/// A `rows x cols` matrix with roughly `sparsity` of its entries zero, and whole zero rows
/// when `empty_rows` is set (every third row).
fn sparse_dense(rows: usize, cols: usize, sparsity: f64, empty_rows: bool, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..rows * cols)
        .map(|i| {
            let (zero, v) = (next() < sparsity, next() as f32 * 2.0 - 1.0);
            if zero || (empty_rows && (i / cols.max(1)) % 3 == 1) {
                0.0
            } else {
                v
            }
        })
        .collect()
}

fn naive(w: &[f32], x: &[f32], m: usize, k: usize, n: usize, bias: Option<&[f32]>) -> Vec<f64> {
    let mut y = vec![0f64; m * n];
    for r in 0..m {
        for j in 0..n {
            let mut s = bias.map_or(0.0, |b| b[r] as f64);
            for p in 0..k {
                s += w[r * k + p] as f64 * x[p * n + j] as f64;
            }
            y[r * n + j] = s;
        }
    }
    y
}

/// Tolerance: fp32 accumulation error grows with the depth `k` (values in [-1, 1]).
fn close(got: &[f32], want: &[f64], k: usize) -> Result<(), TestCaseError> {
    let tol = 1e-5 * (k as f64 + 1.0);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        prop_assert!(
            ((*g as f64) - w).abs() <= tol,
            "at {i}: got {g}, want {w}, tol {tol}"
        );
    }
    Ok(())
}

/// A NaN-filled workspace of exactly `len` floats starting `offset % 16` floats into its
/// allocation (so the kernels must zero what they read and align the panel themselves).
fn nan_scratch(len: usize, offset: u64) -> (Vec<f32>, usize) {
    let off = (offset % 16) as usize;
    (vec![f32::NAN; len + off], off)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// k up to 200 crosses several 64-column blocks (groups after the first add to Y); n
    /// covers whole and partial vectors of both widths and more than one column block.
    #[test]
    fn matmul_matches_dense(m in 0usize..20, k in 0usize..200, n in 0usize..150,
                            sparsity in 0.0f64..1.0, empty_rows: bool, with_bias: bool,
                            act in 0usize..3, seed: u64) {
        let w = sparse_dense(m, k, sparsity, empty_rows, seed);
        let x = sparse_dense(k, n, 0.0, false, seed ^ 0x55);
        let bias: Vec<f32> = (0..m).map(|i| i as f32 * 0.25 - 1.0).collect();
        let bias = with_bias.then_some(&bias[..]);
        let csr = CsrMatrix::from_dense(&w, m, k).unwrap();
        prop_assert_eq!(csr.to_dense(), w.clone());
        let (act, lo, hi) = [
            (Activation::None, f64::NEG_INFINITY, f64::INFINITY),
            (Activation::Relu, 0.0, f64::INFINITY),
            (Activation::Clip { min: -0.5, max: 0.75 }, -0.5, 0.75),
        ][act];
        let want: Vec<f64> = naive(&w, &x, m, k, n, bias).iter().map(|v| v.max(lo).min(hi)).collect();
        for imp in SparseImpl::available() {
            let mut y = vec![f32::NAN; m * n];
            let (mut s, off) = nan_scratch(csr.matmul_scratch_len(n), seed);
            csr.matmul_with(imp, &x, n, &mut y, bias, act, &mut s[off..]).unwrap();
            close(&y, &want, k)?;
        }
    }

    /// The kernels read X through a 64-byte-aligned panel or, for whole vectors, in place:
    /// an X that starts at any float offset gives the same products.
    #[test]
    fn matmul_reads_unaligned_input(offset in 0usize..16, m in 1usize..10, k in 1usize..100,
                                    vecs in 1usize..12, seed: u64) {
        let n = 16 * vecs;
        let w = sparse_dense(m, k, 0.8, false, seed);
        let mut buf = sparse_dense(k * n + 16, 1, 0.0, false, seed ^ 3);
        let x = &mut buf[offset..][..k * n];
        x[0] = 1.5;
        let csr = CsrMatrix::from_dense(&w, m, k).unwrap();
        let want = naive(&w, x, m, k, n, None);
        for imp in SparseImpl::available() {
            let mut y = vec![f32::NAN; m * n];
            let (mut s, off) = nan_scratch(csr.matmul_scratch_len(n), seed);
            csr.matmul_with(imp, x, n, &mut y, None, Activation::None, &mut s[off..]).unwrap();
            close(&y, &want, k)?;
        }
    }

    #[test]
    fn matmul_t_matches_dense(m in 0usize..30, k in 0usize..150, batch in 0usize..40,
                              sparsity in 0.0f64..1.0, seed: u64) {
        let w = sparse_dense(m, k, sparsity, true, seed);
        let x = sparse_dense(batch, k, 0.0, false, seed ^ 7);
        let bias: Vec<f32> = (0..m).map(|i| 0.5 - i as f32 * 0.125).collect();
        let csr = CsrMatrix::from_dense(&w, m, k).unwrap();
        let mut ys = Vec::new();
        for imp in SparseImpl::available() {
            let mut y = vec![f32::NAN; batch * m];
            let (mut s, off) = nan_scratch(csr.matmul_t_scratch_len(batch), seed);
            csr.matmul_t_with(imp, &x, batch, &mut y, Some(&bias), Activation::Relu, &mut s[off..])
                .unwrap();
            ys.push(y);
        }
        // y^T = W x^T: the naive product on the transposed input.
        let mut xt = vec![0f32; k * batch];
        for b in 0..batch {
            for p in 0..k {
                xt[p * batch + b] = x[b * k + p];
            }
        }
        let want_t = naive(&w, &xt, m, k, batch, Some(&bias));
        let want: Vec<f64> = (0..batch * m)
            .map(|i| want_t[(i % m.max(1)) * batch + i / m.max(1)].max(0.0))
            .collect();
        for y in &ys {
            close(y, &want, k)?;
        }
    }
}

#[test]
fn fused_activation_and_shape_errors() {
    let w = [1.0, 0.0, -2.0, 0.0, 0.0, 0.0];
    let csr = CsrMatrix::from_dense(&w, 2, 3).unwrap();
    assert_eq!(csr.nnz(), 2);
    assert!((csr.sparsity() - 4.0 / 6.0).abs() < 1e-12);
    let x: Vec<f32> = (0..3 * 9).map(|i| i as f32).collect();
    for imp in SparseImpl::available() {
        let mut y = vec![0f32; 2 * 9];
        let clip = Activation::Clip {
            min: -5.0,
            max: 5.0,
        };
        let mut s = vec![f32::NAN; csr.matmul_scratch_len(9)];
        csr.matmul_with(imp, &x, 9, &mut y, Some(&[0.5, -0.5]), clip, &mut s)
            .unwrap();
        for j in 0..9 {
            let want = (x[j] - 2.0 * x[18 + j] + 0.5).clamp(-5.0, 5.0);
            assert_eq!(y[j], want, "{imp:?} column {j}");
            assert_eq!(y[9 + j], -0.5);
        }
    }
    let mut y = vec![0f32; 2 * 9];
    let err = csr
        .matmul(&x[..26], 9, &mut y, None, Activation::None)
        .unwrap_err();
    assert!(err.to_string().contains("gemm"), "{err}");
    let err = csr
        .matmul(&x, 9, &mut y, Some(&[1.0]), Activation::None)
        .unwrap_err();
    assert!(err.to_string().contains("bias"), "{err}");
    let short = csr.matmul_scratch_len(9) - 1;
    let err = csr
        .matmul_with(
            SparseImpl::Generic,
            &x,
            9,
            &mut y,
            None,
            Activation::None,
            &mut vec![0.0; short],
        )
        .unwrap_err();
    assert!(err.to_string().contains("scratch"), "{err}");
    let mut yt = vec![0f32; 4 * 2];
    let err = csr
        .matmul_t_with(
            SparseImpl::Generic,
            &x[..12],
            4,
            &mut yt,
            None,
            Activation::None,
            &mut [],
        )
        .unwrap_err();
    assert!(err.to_string().contains("scratch"), "{err}");
    assert!(CsrMatrix::from_dense(&w, 4, 3).is_err());
}
