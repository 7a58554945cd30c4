//! Slicing and masking constant tensors along one axis, for any fixed-size dtype.

use edgeopt_tensor::Tensor;

use crate::{PruneError, Result};

/// `(outer, len, inner)`: the tensor viewed as `[outer, shape[axis], inner]`.
fn split_at_axis(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    (outer, shape[axis], inner)
}

fn check_axis(t: &Tensor, axis: usize, what: &str) -> Result<()> {
    if axis >= t.rank() || t.dtype().is_encoded() || t.dtype().size_of() == 0 {
        return Err(PruneError::Graph(format!(
            "cannot {what} a {:?} tensor of shape {:?} along axis {axis}",
            t.dtype(),
            t.shape()
        )));
    }
    Ok(())
}

/// Keeps indices `keep` (increasing, in range) of `axis`.
pub(crate) fn take_along(t: &Tensor, axis: usize, keep: &[usize]) -> Result<Tensor> {
    check_axis(t, axis, "slice")?;
    let (outer, len, inner) = split_at_axis(t.shape(), axis);
    if keep.iter().any(|&k| k >= len) {
        return Err(PruneError::Graph(format!(
            "slice index out of range for shape {:?} axis {axis}",
            t.shape()
        )));
    }
    let es = t.dtype().size_of();
    let src = t.as_bytes();
    let mut out = Vec::with_capacity(outer * keep.len() * inner * es);
    for o in 0..outer {
        for &k in keep {
            let start = ((o * len + k) * inner) * es;
            out.extend_from_slice(&src[start..start + inner * es]);
        }
    }
    let mut shape = t.shape().to_vec();
    shape[axis] = keep.len();
    Ok(Tensor::from_bytes(
        t.dtype(),
        shape,
        bytes::Bytes::from(out),
    )?)
}

/// Sets to zero (all-zero bytes) every index of `axis` not in `keep` (increasing).
pub(crate) fn zero_except(t: &Tensor, axis: usize, keep: &[usize]) -> Result<Tensor> {
    check_axis(t, axis, "mask")?;
    let (outer, len, inner) = split_at_axis(t.shape(), axis);
    let es = t.dtype().size_of();
    let mut data = t.as_bytes().to_vec();
    let mut kept = vec![false; len];
    for &k in keep.iter().filter(|&&k| k < len) {
        kept[k] = true;
    }
    for o in 0..outer {
        for (k, _) in kept.iter().enumerate().filter(|(_, k)| !**k) {
            let start = ((o * len + k) * inner) * es;
            data[start..start + inner * es].fill(0);
        }
    }
    Ok(Tensor::from_bytes(
        t.dtype(),
        t.shape().to_vec(),
        bytes::Bytes::from(data),
    )?)
}

/// Per-index norm along `axis`: sum of |x| (`p == 1`) or sqrt of the sum of squares (`p == 2`).
pub(crate) fn norms_along(t: &Tensor, axis: usize, p: u32) -> Result<Vec<f64>> {
    check_axis(t, axis, "measure")?;
    let (outer, len, inner) = split_at_axis(t.shape(), axis);
    let v = t.to_f64_vec()?;
    let mut acc = vec![0f64; len];
    for o in 0..outer {
        for (k, a) in acc.iter_mut().enumerate() {
            let s = &v[(o * len + k) * inner..][..inner];
            *a += if p == 1 {
                s.iter().map(|x| x.abs()).sum::<f64>()
            } else {
                s.iter().map(|x| x * x).sum::<f64>()
            };
        }
    }
    if p == 2 {
        acc.iter_mut().for_each(|a| *a = a.sqrt());
    }
    Ok(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_zero_and_norm_along_axis() {
        let t = Tensor::from_vec(vec![2, 3], vec![1f32, -2., 3., 4., 5., -6.]).unwrap();
        let s = take_along(&t, 1, &[0, 2]).unwrap();
        assert_eq!(s.shape(), &[2, 2]);
        assert_eq!(s.as_slice::<f32>().unwrap(), &[1., 3., 4., -6.]);
        let z = zero_except(&t, 0, &[1]).unwrap();
        assert_eq!(z.as_slice::<f32>().unwrap(), &[0., 0., 0., 4., 5., -6.]);
        assert_eq!(norms_along(&t, 1, 1).unwrap(), vec![5., 7., 9.]);
        assert!(take_along(&t, 2, &[0]).is_err());
        assert!(take_along(&t, 1, &[3]).is_err());
    }
}
