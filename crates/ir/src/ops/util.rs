//! Shared helpers for reference ops: dtype dispatch, broadcasting, index arithmetic.

use crate::{bail, Result, TensorType, ValueType};
use edgeopt_tensor::shape::{broadcast_shapes, broadcast_strides, broadcast_sym};
use edgeopt_tensor::{Dim, Elem, Tensor};

/// `match`es a dtype onto a Rust type alias `$T` for float dtypes (f32, f64, f16, bf16).
#[macro_export]
macro_rules! dispatch_float {
    ($dt:expr, $T:ident => $body:expr) => {{
        use edgeopt_tensor::DType as __D;
        match $dt {
            __D::F32 => {
                type $T = f32;
                $body
            }
            __D::F64 => {
                type $T = f64;
                $body
            }
            __D::F16 => {
                type $T = edgeopt_tensor::f16;
                $body
            }
            __D::BF16 => {
                type $T = edgeopt_tensor::bf16;
                $body
            }
            d => $crate::bail!("dtype {d} is not supported here (expected a float type)"),
        }
    }};
}

/// Like [`dispatch_float`] for integer dtypes.
#[macro_export]
macro_rules! dispatch_int {
    ($dt:expr, $T:ident => $body:expr) => {{
        use edgeopt_tensor::DType as __D;
        match $dt {
            __D::I8 => {
                type $T = i8;
                $body
            }
            __D::U8 => {
                type $T = u8;
                $body
            }
            __D::I16 => {
                type $T = i16;
                $body
            }
            __D::U16 => {
                type $T = u16;
                $body
            }
            __D::I32 => {
                type $T = i32;
                $body
            }
            __D::U32 => {
                type $T = u32;
                $body
            }
            __D::I64 => {
                type $T = i64;
                $body
            }
            __D::U64 => {
                type $T = u64;
                $body
            }
            d => $crate::bail!("dtype {d} is not supported here (expected an integer type)"),
        }
    }};
}

/// Like [`dispatch_float`] for every plain numeric dtype (floats and integers).
#[macro_export]
macro_rules! dispatch_num {
    ($dt:expr, $T:ident => $body:expr) => {{
        use edgeopt_tensor::DType as __D;
        match $dt {
            d @ (__D::F32 | __D::F64 | __D::F16 | __D::BF16) => {
                $crate::dispatch_float!(d, $T => $body)
            }
            d @ (__D::I8
            | __D::U8
            | __D::I16
            | __D::U16
            | __D::I32
            | __D::U32
            | __D::I64
            | __D::U64) => $crate::dispatch_int!(d, $T => $body),
            d => $crate::bail!("dtype {d} is not supported here (expected a numeric type)"),
        }
    }};
}

/// Like [`dispatch_num`] plus bool: every fixed-size element type that has a Rust type.
#[macro_export]
macro_rules! dispatch_pod {
    ($dt:expr, $T:ident => $body:expr) => {{
        use edgeopt_tensor::DType as __D;
        match $dt {
            __D::Bool => { type $T = bool; $body }
            other => $crate::dispatch_num!(other, $T => $body),
        }
    }};
}

/// Applies `f` element-wise over two tensors broadcast numpy-style.
pub fn broadcast_map<A: Elem, B: Elem, O: Elem + bytemuck::NoUninit>(
    a: &Tensor,
    b: &Tensor,
    f: impl Fn(A, B) -> O,
) -> Result<Tensor> {
    let (xa, xb) = (a.as_slice::<A>()?, b.as_slice::<B>()?);
    if a.shape() == b.shape() {
        return Ok(Tensor::from_vec(
            a.shape().to_vec(),
            xa.iter().zip(xb).map(|(&p, &q)| f(p, q)).collect(),
        )?);
    }
    let out = broadcast_shapes(a.shape(), b.shape())?;
    if b.len() == 1 {
        let q = xb[0];
        return Ok(Tensor::from_vec(
            out,
            xa.iter().map(|&p| f(p, q)).collect(),
        )?);
    }
    if a.len() == 1 {
        let p = xa[0];
        return Ok(Tensor::from_vec(
            out,
            xb.iter().map(|&q| f(p, q)).collect(),
        )?);
    }
    let (sa, sb) = (
        broadcast_strides(a.shape(), &out),
        broadcast_strides(b.shape(), &out),
    );
    let n: usize = edgeopt_tensor::shape::checked_numel(&out)?;
    let mut res = Vec::with_capacity(n);
    for_each_index2(&out, &sa, &sb, |ia, ib| res.push(f(xa[ia], xb[ib])));
    Ok(Tensor::from_vec(out, res)?)
}

/// Visits every index of `shape` in row-major order, passing the offsets under two stride sets.
pub fn for_each_index2(
    shape: &[usize],
    sa: &[usize],
    sb: &[usize],
    mut f: impl FnMut(usize, usize),
) {
    let n: usize = shape.iter().product();
    if n == 0 {
        return;
    }
    let r = shape.len();
    let mut idx = vec![0usize; r];
    let (mut oa, mut ob) = (0usize, 0usize);
    for _ in 0..n {
        f(oa, ob);
        for d in (0..r).rev() {
            idx[d] += 1;
            oa += sa[d];
            ob += sb[d];
            if idx[d] < shape[d] {
                break;
            }
            oa -= sa[d] * shape[d];
            ob -= sb[d] * shape[d];
            idx[d] = 0;
        }
    }
}

/// Gathers a tensor broadcast to `target` into a dense vector.
pub fn broadcast_to<T: Elem>(t: &Tensor, target: &[usize]) -> Result<Vec<T>> {
    let x = t.as_slice::<T>()?;
    let full = broadcast_shapes(t.shape(), target)?;
    if full != target {
        bail!("cannot broadcast {:?} to {:?}", t.shape(), target);
    }
    let s = broadcast_strides(t.shape(), target);
    let mut out = Vec::with_capacity(target.iter().product());
    for_each_index2(target, &s, &s, |i, _| out.push(x[i]));
    Ok(out)
}

/// Type inference for ops whose output broadcasts all inputs and takes the first input's dtype
/// (or `dtype` when given, e.g. bool for comparisons).
pub fn infer_broadcast(
    inputs: &[ValueType],
    dtype: Option<edgeopt_tensor::DType>,
) -> Result<ValueType> {
    let mut shape: Option<Vec<Dim>> = Some(vec![]);
    for t in inputs {
        let s = t.shape().cloned();
        shape = match (shape, s) {
            (Some(a), Some(b)) => Some(broadcast_sym(&a, &b)?),
            _ => None,
        };
    }
    let dt = dtype.or_else(|| inputs.first().and_then(|t| t.dtype()));
    Ok(ValueType::Tensor(TensorType { dtype: dt, shape }))
}

/// Same type as input `i` (unary element-wise ops).
pub fn same_as(inputs: &[ValueType], i: usize) -> ValueType {
    inputs.get(i).cloned().unwrap_or_default()
}

/// Reads an optional constant i64 list (axes, shape, pads), or `None` when not constant.
pub fn const_i64s(t: Option<&Tensor>) -> Option<Vec<i64>> {
    t.and_then(|t| t.to_i64_vec().ok())
}
