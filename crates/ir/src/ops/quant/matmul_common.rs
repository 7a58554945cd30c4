//! numpy-style batched matmul for MatMulInteger and QLinearMatMul, plus the per-row / per-column
//! broadcasting of their zero points and scales.

use crate::ops::util::broadcast_to;
use crate::{bail, Result, TensorType};
use edgeopt_tensor::shape::{broadcast_shapes, broadcast_sym, checked_numel};
use edgeopt_tensor::{Dim, Tensor};

/// Shapes of a numpy matmul: the operands promoted to rank >= 2, the broadcast batch, and the
/// output shape (with promoted unit dims removed again).
pub struct MatmulShape {
    pub batch: Vec<usize>,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub a_batch: Vec<usize>,
    pub b_batch: Vec<usize>,
    pub out: Vec<usize>,
}

pub fn matmul_shape(op: &str, a: &[usize], b: &[usize]) -> Result<MatmulShape> {
    if a.is_empty() || b.is_empty() {
        bail!("{op}: inputs must have rank >= 1, got {a:?} and {b:?}");
    }
    let a2: Vec<usize> = if a.len() == 1 {
        vec![1, a[0]]
    } else {
        a.to_vec()
    };
    let b2: Vec<usize> = if b.len() == 1 {
        vec![b[0], 1]
    } else {
        b.to_vec()
    };
    let (m, k) = (a2[a2.len() - 2], a2[a2.len() - 1]);
    let (k2, n) = (b2[b2.len() - 2], b2[b2.len() - 1]);
    if k != k2 {
        bail!("{op}: inner dimensions differ: A {a:?}, B {b:?}");
    }
    let (a_batch, b_batch) = (a2[..a2.len() - 2].to_vec(), b2[..b2.len() - 2].to_vec());
    let batch = match broadcast_shapes(&a_batch, &b_batch) {
        Ok(s) => s,
        Err(_) => bail!("{op}: batch dimensions of A {a:?} and B {b:?} do not broadcast"),
    };
    let mut out = batch.clone();
    if a.len() > 1 {
        out.push(m);
    }
    if b.len() > 1 {
        out.push(n);
    }
    checked_numel(&out)?;
    Ok(MatmulShape {
        batch,
        m,
        k,
        n,
        a_batch,
        b_batch,
        out,
    })
}

/// Symbolic output shape of a matmul, `None` when a rank is unknown.
pub fn infer_matmul_shape(op: &str, a: &TensorType, b: &TensorType) -> Result<Option<Vec<Dim>>> {
    let (Some(a), Some(b)) = (&a.shape, &b.shape) else {
        return Ok(None);
    };
    if a.is_empty() || b.is_empty() {
        bail!("{op}: inputs must have rank >= 1");
    }
    let ab: &[Dim] = if a.len() > 2 { &a[..a.len() - 2] } else { &[] };
    let bb: &[Dim] = if b.len() > 2 { &b[..b.len() - 2] } else { &[] };
    let mut out = broadcast_sym(ab, bb)?;
    if a.len() > 1 {
        out.push(a[a.len() - 2].clone());
    }
    if b.len() > 1 {
        out.push(b[b.len() - 1].clone());
    }
    Ok(Some(out))
}

/// Offset of the matrix for batch index `bi` (of the broadcast batch) in an operand whose own
/// batch shape is `own`.
fn batch_offset(batch: &[usize], own: &[usize], mut bi: usize, mat: usize) -> usize {
    let mut off = 0;
    let mut stride = 1;
    for d in (0..batch.len()).rev() {
        let idx = bi % batch[d];
        bi /= batch[d];
        let od = d as isize - (batch.len() - own.len()) as isize;
        if od >= 0 {
            let size = own[od as usize];
            if size != 1 {
                off += idx * stride;
            }
            stride *= size;
        }
    }
    off * mat
}

/// `a @ b` accumulated in `T` (i64 for integer inputs, f64 for float ones).
pub fn matmul<T>(s: &MatmulShape, a: &[T], b: &[T]) -> Vec<T>
where
    T: Copy + Default + std::ops::Add<Output = T> + std::ops::Mul<Output = T>,
{
    let nb: usize = s.batch.iter().product();
    let (m, k, n) = (s.m, s.k, s.n);
    let mut out = vec![T::default(); nb * m * n];
    for bi in 0..nb {
        let ao = batch_offset(&s.batch, &s.a_batch, bi, m * k);
        let bo = batch_offset(&s.batch, &s.b_batch, bi, k * n);
        let c = &mut out[bi * m * n..(bi + 1) * m * n];
        for i in 0..m {
            for p in 0..k {
                let av = a[ao + i * k + p];
                for j in 0..n {
                    c[i * n + j] = c[i * n + j] + av * b[bo + p * n + j];
                }
            }
        }
    }
    out
}

/// Which matmul operand a quantization parameter belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Per row of `a`: a 1-D parameter of length M is a column [M, 1].
    A,
    /// Per column of `b` (and of the output): a 1-D parameter broadcasts along the last axis.
    B,
}

/// A zero point or scale broadcast to `target` (the operand's shape, or the output's), as f64.
pub fn expand_param(
    op: &str,
    p: &Tensor,
    vals: Vec<f64>,
    side: Side,
    target: &[usize],
) -> Result<Vec<f64>> {
    let n: usize = target.iter().product();
    if vals.len() == 1 {
        return Ok(vec![vals[0]; n]);
    }
    let shape: Vec<usize> = match (side, p.shape()) {
        (Side::A, [m]) => vec![*m, 1],
        (_, s) => s.to_vec(),
    };
    let t = Tensor::from_vec(shape.clone(), vals)?;
    match broadcast_to::<f64>(&t, target) {
        Ok(v) => Ok(v),
        Err(_) => bail!(
            "{op}: parameter of shape {:?} does not fit {target:?}",
            p.shape()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_batched_matmul() {
        // a [2, 1, 2] @ b [2, 1]: each batch row [1, 2] / [3, 4] times [1, 1].
        let s = matmul_shape("T", &[2, 1, 2], &[2, 1]).unwrap();
        assert_eq!(s.out, vec![2, 1, 1]);
        assert_eq!(matmul(&s, &[1i64, 2, 3, 4], &[1, 1]), vec![3, 7]);
        let s = matmul_shape("T", &[2], &[2, 3]).unwrap();
        assert_eq!(s.out, vec![3]);
        assert!(matmul_shape("T", &[2, 3], &[2, 3]).is_err());
    }

    #[test]
    fn per_row_params() {
        let p = Tensor::vec1(vec![1f64, 2.0]);
        let v = expand_param("T", &p, vec![1.0, 2.0], Side::A, &[2, 3]).unwrap();
        assert_eq!(v, vec![1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
        let p = Tensor::vec1(vec![1f64, 2.0, 3.0]);
        let v = expand_param("T", &p, vec![1.0, 2.0, 3.0], Side::B, &[2, 3]).unwrap();
        assert_eq!(v, vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
    }
}
