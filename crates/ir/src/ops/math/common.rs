//! Shared machinery for element-wise math ops: a broadcasting walker whose innermost loop is a
//! long contiguous (or constant) run, dtype checks, and the `broadcast`/`axis` attributes binary
//! ops carried before opset 7. Per-dtype scalar semantics live in [`super::scalar`].

use crate::attr::AttrList;
use crate::registry::BuildCtx;
use crate::{bail, Result, ValueType};
use edgeopt_tensor::shape::{broadcast_shapes, broadcast_strides, checked_numel, normalize_axis};
use edgeopt_tensor::{DType, Dim, Elem, SymShape, Tensor};

pub use super::scalar::Scalar;

/// A numpy-style broadcast of several inputs, digested for walking: adjacent dims that every
/// input reads contiguously (or not at all) are merged, so the innermost run is as long as
/// possible and has stride 0 or 1 in the common cases (same shape, scalar, per-channel bias).
pub struct Walk {
    pub out_shape: Vec<usize>,
    dims: Vec<usize>,
    /// `strides[input][dim]`, in elements, 0 on broadcast dims.
    strides: Vec<Vec<usize>>,
}

impl Walk {
    pub fn new(shapes: &[&[usize]]) -> Result<Walk> {
        let mut out: Vec<usize> = Vec::new();
        for s in shapes {
            out = broadcast_shapes(&out, s)?;
        }
        checked_numel(&out)?;
        let full: Vec<Vec<usize>> = shapes.iter().map(|s| broadcast_strides(s, &out)).collect();
        let mut dims: Vec<usize> = Vec::new();
        let mut strides: Vec<Vec<usize>> = vec![Vec::new(); shapes.len()];
        for (d, &n) in out.iter().enumerate() {
            if n == 1 {
                continue;
            }
            let merge = !dims.is_empty()
                && full
                    .iter()
                    .zip(&strides)
                    .all(|(f, s)| s.last() == Some(&(f[d] * n)));
            if merge {
                if let Some(last) = dims.last_mut() {
                    *last *= n;
                }
                for (f, s) in full.iter().zip(strides.iter_mut()) {
                    if let Some(last) = s.last_mut() {
                        *last = f[d];
                    }
                }
            } else {
                dims.push(n);
                for (f, s) in full.iter().zip(strides.iter_mut()) {
                    s.push(f[d]);
                }
            }
        }
        if dims.is_empty() {
            dims.push(1);
            strides.iter_mut().for_each(|s| s.push(0));
        }
        Ok(Walk {
            out_shape: out,
            dims,
            strides,
        })
    }

    pub fn numel(&self) -> usize {
        self.dims.iter().product()
    }

    /// Stride of input `k` along the innermost run.
    pub fn inner_stride(&self, k: usize) -> usize {
        self.strides[k].last().copied().unwrap_or(0)
    }

    /// Calls `f(offsets, len)` for each innermost run in row-major order, with the offset of the
    /// run's first element in each input.
    pub fn runs(&self, mut f: impl FnMut(&[usize], usize)) {
        if self.numel() == 0 {
            return;
        }
        let r = self.dims.len();
        let inner = self.dims[r - 1];
        let mut idx = vec![0usize; r - 1];
        let mut offs = vec![0usize; self.strides.len()];
        loop {
            f(&offs, inner);
            let mut d = r - 1;
            loop {
                if d == 0 {
                    return;
                }
                d -= 1;
                idx[d] += 1;
                for (o, s) in offs.iter_mut().zip(&self.strides) {
                    *o += s[d];
                }
                if idx[d] < self.dims[d] {
                    break;
                }
                for (o, s) in offs.iter_mut().zip(&self.strides) {
                    *o -= s[d] * self.dims[d];
                }
                idx[d] = 0;
            }
        }
    }
}

/// `f` over two broadcast slices (any element type, strings included): output shape and values.
pub fn zip2<A, B, O>(
    a: &[A],
    sa: &[usize],
    b: &[B],
    sb: &[usize],
    mut f: impl FnMut(&A, &B) -> O,
) -> Result<(Vec<usize>, Vec<O>)> {
    let w = Walk::new(&[sa, sb])?;
    let mut out = Vec::with_capacity(w.numel());
    let (ia, ib) = (w.inner_stride(0), w.inner_stride(1));
    w.runs(|o, n| match (ia, ib) {
        (1, 1) => out.extend(
            a[o[0]..o[0] + n]
                .iter()
                .zip(&b[o[1]..o[1] + n])
                .map(|(x, y)| f(x, y)),
        ),
        (1, 0) => out.extend(a[o[0]..o[0] + n].iter().map(|x| f(x, &b[o[1]]))),
        (0, 1) => out.extend(b[o[1]..o[1] + n].iter().map(|y| f(&a[o[0]], y))),
        _ => out.extend((0..n).map(|i| f(&a[o[0] + i * ia], &b[o[1] + i * ib]))),
    });
    Ok((w.out_shape, out))
}

/// `f` over three broadcast slices (Where, Clip with tensor bounds).
pub fn zip3<A, B, C, O>(
    (a, sa): (&[A], &[usize]),
    (b, sb): (&[B], &[usize]),
    (c, sc): (&[C], &[usize]),
    mut f: impl FnMut(&A, &B, &C) -> O,
) -> Result<(Vec<usize>, Vec<O>)> {
    let w = Walk::new(&[sa, sb, sc])?;
    let mut out = Vec::with_capacity(w.numel());
    let st = [w.inner_stride(0), w.inner_stride(1), w.inner_stride(2)];
    w.runs(|o, n| {
        out.extend((0..n).map(|i| {
            f(
                &a[o[0] + i * st[0]],
                &b[o[1] + i * st[1]],
                &c[o[2] + i * st[2]],
            )
        }))
    });
    Ok((w.out_shape, out))
}

/// `f` over two broadcast tensors of plain element types.
pub fn map2<A: Elem, B: Elem, O: Elem + bytemuck::NoUninit>(
    a: &Tensor,
    b: &Tensor,
    f: impl Fn(A, B) -> O,
) -> Result<Tensor> {
    let (shape, v) = zip2(
        a.as_slice::<A>()?,
        a.shape(),
        b.as_slice::<B>()?,
        b.shape(),
        |&x, &y| f(x, y),
    )?;
    Ok(Tensor::from_vec(shape, v)?)
}

/// The dtype all of `inputs` share, when known; an error naming `op` when two known dtypes differ.
pub fn common_dtype(op: &str, inputs: &[&ValueType]) -> Result<Option<DType>> {
    let mut dt = None;
    for (i, t) in inputs.iter().enumerate() {
        match (dt, t.dtype()) {
            (Some(a), Some(b)) if a != b => {
                bail!("{op}: input {i} has dtype {b}, but an earlier input has {a}")
            }
            (None, Some(b)) => dt = Some(b),
            _ => {}
        }
    }
    Ok(dt)
}

/// An error naming `op` unless both tensors have the same dtype.
pub fn same_dtype(op: &str, a: &Tensor, b: &Tensor) -> Result<()> {
    if a.dtype() != b.dtype() {
        bail!(
            "{op}: inputs A and B must have the same dtype, got {} and {}",
            a.dtype(),
            b.dtype()
        );
    }
    Ok(())
}

/// The `broadcast`/`axis` attributes of binary ops before opset 7. With `broadcast=1` and an
/// `axis`, B's dims line up with A's starting at `axis`; otherwise trailing alignment (numpy).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LegacyBroadcast {
    pub broadcast: Option<i64>,
    pub axis: Option<i64>,
}

impl LegacyBroadcast {
    pub fn parse(ctx: &mut BuildCtx) -> Result<Self> {
        if ctx.opset >= 7 {
            return Ok(Self::default());
        }
        let _ = ctx.attrs.ints("consumed_inputs")?;
        Ok(LegacyBroadcast {
            broadcast: ctx.attrs.int("broadcast")?,
            axis: ctx.attrs.int("axis")?,
        })
    }

    /// How many trailing 1-dims B needs so numpy alignment places it at `axis` of A.
    fn pad(&self, a_rank: usize, b_rank: usize) -> Result<usize> {
        match (self.broadcast, self.axis) {
            (Some(1), Some(axis)) => {
                let ax = normalize_axis(axis, a_rank.max(1))?;
                match a_rank.checked_sub(ax + b_rank) {
                    Some(p) => Ok(p),
                    None => bail!(
                        "legacy broadcast: B of rank {b_rank} does not fit A of rank {a_rank} \
                         at axis {axis}"
                    ),
                }
            }
            _ => Ok(0),
        }
    }

    /// B reshaped for numpy broadcasting against A.
    pub fn align(&self, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        let p = self.pad(a.rank(), b.rank())?;
        if p == 0 {
            return Ok(b.clone());
        }
        let mut s = b.shape().to_vec();
        s.resize(s.len() + p, 1);
        Ok(b.reshape(s)?)
    }

    /// B's static type aligned the same way.
    pub fn align_type(&self, a: &ValueType, b: &ValueType) -> Result<ValueType> {
        let (Some(sa), Some(sb)) = (a.shape(), b.shape()) else {
            return Ok(b.clone());
        };
        let p = self.pad(sa.len(), sb.len())?;
        let mut s: SymShape = sb.clone();
        s.resize(s.len() + p, Dim::Known(1));
        Ok(ValueType::Tensor(crate::TensorType {
            dtype: b.dtype(),
            shape: Some(s),
        }))
    }

    pub fn export(&self, l: AttrList) -> AttrList {
        l.opt_int("broadcast", self.broadcast)
            .opt_int("axis", self.axis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_merges_contiguous_dims() {
        // Per-channel bias [2,3,4,5] + [3,1,1]: the [4,5] dims merge into runs of 20, B constant.
        let w = Walk::new(&[&[2, 3, 4, 5], &[3, 1, 1]]).unwrap();
        assert_eq!(w.out_shape, vec![2, 3, 4, 5]);
        assert_eq!(w.dims, vec![2, 3, 20]);
        assert_eq!(w.strides, vec![vec![60, 20, 1], vec![0, 1, 0]]);
        let w = Walk::new(&[&[2, 3], &[2, 3]]).unwrap();
        assert_eq!(w.dims, vec![6]);
        let w = Walk::new(&[&[], &[]]).unwrap();
        assert_eq!((w.dims.clone(), w.numel()), (vec![1], 1));
        assert!(Walk::new(&[&[2, 3], &[4]]).is_err());
    }

    #[test]
    fn zip2_broadcasts_like_numpy() {
        let a = [1, 2, 3];
        let b = [10, 20];
        let (s, v) = zip2(&a, &[3, 1], &b, &[2], |x, y| x + y).unwrap();
        assert_eq!(s, vec![3, 2]);
        assert_eq!(v, vec![11, 21, 12, 22, 13, 23]);
        let (s, v) = zip2(&a, &[1, 3], &b, &[2, 1], |x, y| x * y).unwrap();
        assert_eq!(s, vec![2, 3]);
        assert_eq!(v, vec![10, 20, 30, 20, 40, 60]);
        assert!(zip2(&a, &[3], &b, &[2], |x, y| x * y).is_err());
        let (s, v) = zip2::<i32, i32, i32>(&[], &[0, 3], &[1], &[1], |x, y| x * y).unwrap();
        assert_eq!((s, v.len()), (vec![0, 3], 0));
    }
}
