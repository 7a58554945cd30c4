//! Shared machinery for element-wise math ops: a broadcasting walker whose innermost loop is a
//! long contiguous (or constant) run, per-dtype scalar arithmetic with ONNX's integer semantics,
//! and the `broadcast`/`axis` attributes binary ops carried before opset 7.

use crate::attr::AttrList;
use crate::registry::BuildCtx;
use crate::{bail, Result, ValueType};
use edgeopt_tensor::shape::{broadcast_shapes, broadcast_strides, checked_numel, normalize_axis};
use edgeopt_tensor::{bf16, f16, DType, Dim, Elem, Numeric, SymShape, Tensor};

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

/// Scalar arithmetic with ONNX semantics: integers wrap, integer division or remainder by zero
/// gives 0 (the spec leaves it undefined), floats follow IEEE and propagate NaN through max/min.
pub trait Scalar: Numeric + bytemuck::NoUninit {
    const IS_FLOAT: bool;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    /// Integer division truncates toward zero (C semantics).
    fn div(self, o: Self) -> Self;
    /// Remainder with the dividend's sign (C `fmod`).
    fn fmod(self, o: Self) -> Self;
    /// Remainder with the divisor's sign (Python/numpy `%`).
    fn pymod(self, o: Self) -> Self;
    fn max_nan(self, o: Self) -> Self;
    fn min_nan(self, o: Self) -> Self;
    fn is_nan(self) -> bool;
    /// Two's-complement view used by integer accumulators (einsum, integer pow).
    fn to_i64_wrapping(self) -> i64;
    fn from_i64_wrapping(v: i64) -> Self;
}

macro_rules! int_scalar {
    ($signed:expr; $($t:ty),*) => { $(impl Scalar for $t {
        const IS_FLOAT: bool = false;
        fn add(self, o: Self) -> Self { self.wrapping_add(o) }
        fn sub(self, o: Self) -> Self { self.wrapping_sub(o) }
        fn mul(self, o: Self) -> Self { self.wrapping_mul(o) }
        fn div(self, o: Self) -> Self { if o == 0 { 0 } else { self.wrapping_div(o) } }
        fn fmod(self, o: Self) -> Self { if o == 0 { 0 } else { self.wrapping_rem(o) } }
        fn pymod(self, o: Self) -> Self {
            if o == 0 {
                return 0;
            }
            let r = self.wrapping_rem(o);
            let zero: Self = 0;
            if $signed && r != 0 && ((r < zero) != (o < zero)) { r.wrapping_add(o) } else { r }
        }
        fn max_nan(self, o: Self) -> Self { Ord::max(self, o) }
        fn min_nan(self, o: Self) -> Self { Ord::min(self, o) }
        fn is_nan(self) -> bool { false }
        fn to_i64_wrapping(self) -> i64 { self as i64 }
        fn from_i64_wrapping(v: i64) -> Self { v as $t }
    })* };
}
int_scalar!(true; i8, i16, i32, i64);
int_scalar!(false; u8, u16, u32, u64);

/// numpy's float `%`: fmod, moved into the divisor's sign; exact zeros take the divisor's sign.
fn pymod_f64(a: f64, b: f64) -> f64 {
    let m = a % b;
    if b == 0.0 || m.is_nan() {
        m
    } else if m != 0.0 {
        if (b < 0.0) != (m < 0.0) {
            m + b
        } else {
            m
        }
    } else {
        0f64.copysign(b)
    }
}

macro_rules! float_scalar {
    ($($t:ty),*) => { $(impl Scalar for $t {
        const IS_FLOAT: bool = true;
        fn add(self, o: Self) -> Self { self + o }
        fn sub(self, o: Self) -> Self { self - o }
        fn mul(self, o: Self) -> Self { self * o }
        fn div(self, o: Self) -> Self { self / o }
        fn fmod(self, o: Self) -> Self { self % o }
        fn pymod(self, o: Self) -> Self { pymod_f64(self as f64, o as f64) as $t }
        fn max_nan(self, o: Self) -> Self { if self.is_nan() || o.is_nan() { <$t>::NAN } else { self.max(o) } }
        fn min_nan(self, o: Self) -> Self { if self.is_nan() || o.is_nan() { <$t>::NAN } else { self.min(o) } }
        fn is_nan(self) -> bool { <$t>::is_nan(self) }
        fn to_i64_wrapping(self) -> i64 { self as i64 }
        fn from_i64_wrapping(v: i64) -> Self { v as $t }
    })* };
}
float_scalar!(f32, f64);

// Half types compute in f32 and round once, as numpy does for float16.
macro_rules! half_scalar {
    ($($t:ty),*) => { $(impl Scalar for $t {
        const IS_FLOAT: bool = true;
        fn add(self, o: Self) -> Self { <$t>::from_f32(self.to_f32() + o.to_f32()) }
        fn sub(self, o: Self) -> Self { <$t>::from_f32(self.to_f32() - o.to_f32()) }
        fn mul(self, o: Self) -> Self { <$t>::from_f32(self.to_f32() * o.to_f32()) }
        fn div(self, o: Self) -> Self { <$t>::from_f32(self.to_f32() / o.to_f32()) }
        fn fmod(self, o: Self) -> Self { <$t>::from_f32(self.to_f32() % o.to_f32()) }
        fn pymod(self, o: Self) -> Self { <$t>::from_f64(pymod_f64(self.to_f64(), o.to_f64())) }
        fn max_nan(self, o: Self) -> Self { <$t>::from_f32(self.to_f32().max_nan(o.to_f32())) }
        fn min_nan(self, o: Self) -> Self { <$t>::from_f32(self.to_f32().min_nan(o.to_f32())) }
        fn is_nan(self) -> bool { <$t>::is_nan(self) }
        fn to_i64_wrapping(self) -> i64 { self.to_f32() as i64 }
        fn from_i64_wrapping(v: i64) -> Self { <$t>::from_f64(v as f64) }
    })* };
}
half_scalar!(f16, bf16);

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
                    None => bail!("legacy broadcast: B of rank {b_rank} does not fit A of rank {a_rank} at axis {axis}"),
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
        // Per-channel bias: [2,3,4,5] + [3,1,1] -> runs of 20 with B constant; the [4,5] dims merge.
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

    #[test]
    fn integer_semantics() {
        assert_eq!((-7i32).pymod(3), 2);
        assert_eq!(7i32.pymod(-3), -2);
        assert_eq!((-7i32).fmod(3), -1);
        assert_eq!(5i8.div(0), 0);
        assert_eq!(i32::MIN.div(-1), i32::MIN);
        assert_eq!((-3i32).div(2), -1);
        assert_eq!(200u8.add(100), 44);
    }

    #[test]
    fn float_mod_matches_numpy() {
        // np.mod edge cases (test_mod_float_edge_cases_fmod_0).
        assert_eq!(pymod_f64(-3.0, f64::INFINITY), f64::INFINITY);
        assert_eq!(pymod_f64(-1.0, f64::NEG_INFINITY), -1.0);
        assert_eq!(pymod_f64(1.0, f64::NEG_INFINITY), f64::NEG_INFINITY);
        assert!(pymod_f64(0.0, -2.0).is_sign_negative());
        assert!(pymod_f64(1.0, 0.0).is_nan());
        assert_eq!(pymod_f64(-7.0, 3.0), 2.0);
    }
}
