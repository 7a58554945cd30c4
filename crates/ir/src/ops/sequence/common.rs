//! Helpers shared by the sequence, optional and control-flow ops: dtype-agnostic tensor
//! slicing/concatenation (they move elements, so they work on raw bytes or strings and cover
//! every dtype at once), input accessors for sequence values, and static type unification.

use crate::op::Inputs;
use crate::{bail, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{DType, Dim, Tensor};

/// Output buffer for element moves: raw little-endian bytes, or strings.
enum Buf {
    Pod {
        dtype: DType,
        size: usize,
        data: Vec<u8>,
    },
    Str(Vec<String>),
}

impl Buf {
    fn new(dtype: DType, elems: usize) -> Buf {
        match dtype {
            DType::String => Buf::Str(Vec::with_capacity(elems)),
            _ => {
                let size = dtype.size_of().max(1);
                Buf::Pod {
                    dtype,
                    size,
                    data: Vec::with_capacity(elems * size),
                }
            }
        }
    }

    /// Appends `n` elements of `t` starting at flat index `start`.
    fn extend(&mut self, t: &Tensor, start: usize, n: usize) -> Result<()> {
        match self {
            Buf::Pod { size, data, .. } => {
                let b = t.as_bytes();
                data.extend_from_slice(&b[start * *size..(start + n) * *size]);
            }
            Buf::Str(v) => v.extend_from_slice(&t.as_strings()?[start..start + n]),
        }
        Ok(())
    }

    fn finish(self, shape: Vec<usize>) -> Result<Tensor> {
        Ok(match self {
            Buf::Pod { dtype, data, .. } => Tensor::from_bytes(dtype, shape, data.into())?,
            Buf::Str(v) => Tensor::from_strings(shape, v)?,
        })
    }
}

/// Splits `shape` around `axis` into (outer elements, axis length, inner elements).
fn around(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (
        shape[..axis].iter().product(),
        shape[axis],
        shape[axis + 1..].iter().product(),
    )
}

/// Elements `start..start + len` of `t` along `axis` (the axis is kept, with length `len`).
pub fn slice_axis(t: &Tensor, axis: usize, start: usize, len: usize) -> Result<Tensor> {
    if axis >= t.rank() || start + len > t.shape()[axis] {
        bail!(
            "slice [{start}, {}) along axis {axis} is out of range for shape {:?}",
            start + len,
            t.shape()
        );
    }
    let (outer, n, inner) = around(t.shape(), axis);
    let mut shape = t.shape().to_vec();
    shape[axis] = len;
    let mut buf = Buf::new(t.dtype(), outer * len * inner);
    for o in 0..outer {
        buf.extend(t, (o * n + start) * inner, len * inner)?;
    }
    buf.finish(shape)
}

/// Concatenates tensors of equal dtype and rank along `axis`; all other dims must match.
pub fn concat(ts: &[Tensor], axis: usize) -> Result<Tensor> {
    let Some(first) = ts.first() else {
        bail!("cannot concatenate an empty list of tensors")
    };
    let rank = first.rank();
    if axis >= rank {
        bail!("concat axis {axis} is out of range for rank {rank}");
    }
    let mut shape = first.shape().to_vec();
    shape[axis] = 0;
    for t in ts {
        let same = t.rank() == rank
            && t.shape()
                .iter()
                .enumerate()
                .all(|(i, &d)| i == axis || d == first.shape()[i]);
        if t.dtype() != first.dtype() || !same {
            bail!(
                "cannot concatenate {} {:?} with {} {:?} along axis {axis}",
                first.dtype(),
                first.shape(),
                t.dtype(),
                t.shape()
            );
        }
        shape[axis] += t.shape()[axis];
    }
    let total = checked_numel(&shape)?;
    let outer: usize = shape[..axis].iter().product();
    let mut buf = Buf::new(first.dtype(), total);
    for o in 0..outer {
        for t in ts {
            let (_, n, inner) = around(t.shape(), axis);
            buf.extend(t, o * n * inner, n * inner)?;
        }
    }
    buf.finish(shape)
}

/// The elements of `t` at flat positions `idx`, as a tensor of `shape` (any dtype).
pub fn gather_flat(t: &Tensor, idx: &[usize], shape: Vec<usize>) -> Result<Tensor> {
    let mut buf = Buf::new(t.dtype(), idx.len());
    for &i in idx {
        if i >= t.len() {
            bail!(
                "index {i} is out of range for a tensor of {} elements",
                t.len()
            );
        }
        buf.extend(t, i, 1)?;
    }
    buf.finish(shape)
}

/// `t` with a new axis of length 1 inserted at `axis` (`0..=rank`).
pub fn unsqueeze(t: &Tensor, axis: usize) -> Result<Tensor> {
    let mut shape = t.shape().to_vec();
    if axis > shape.len() {
        bail!("cannot insert axis {axis} into shape {shape:?}");
    }
    shape.insert(axis, 1);
    Ok(t.reshape(shape)?)
}

/// `t` without `axis`, which must have length 1.
pub fn squeeze(t: &Tensor, axis: usize) -> Result<Tensor> {
    let mut shape = t.shape().to_vec();
    if shape.get(axis) != Some(&1) {
        bail!("cannot remove axis {axis} of shape {shape:?}: its length is not 1");
    }
    shape.remove(axis);
    Ok(t.reshape(shape)?)
}

/// Stacks equally shaped tensors along a new `axis` (`0..=rank`).
pub fn stack(ts: &[Tensor], axis: usize) -> Result<Tensor> {
    if let Some(first) = ts.first() {
        if let Some(t) = ts.iter().find(|t| t.shape() != first.shape()) {
            bail!(
                "cannot stack tensors of shapes {:?} and {:?}",
                first.shape(),
                t.shape()
            );
        }
    }
    let expanded: Vec<Tensor> = ts
        .iter()
        .map(|t| unsqueeze(t, axis))
        .collect::<Result<_>>()?;
    concat(&expanded, axis)
}

/// Normalizes `axis` against `rank` (valid range `-rank..rank`), naming `what` on error.
pub fn norm_axis(axis: i64, rank: usize, what: &str) -> Result<usize> {
    let r = rank as i64;
    if axis < -r || axis >= r {
        bail!("{what}: axis {axis} is out of range for rank {rank}");
    }
    Ok(if axis < 0 {
        (axis + r) as usize
    } else {
        axis as usize
    })
}

/// A scalar (or one-element) integer input, e.g. a sequence position.
pub fn scalar_i64(t: &Tensor, what: &str) -> Result<i64> {
    let v = t.to_i64_vec()?;
    if v.len() != 1 {
        bail!("{what} must hold one integer, got shape {:?}", t.shape());
    }
    Ok(v[0])
}

/// A scalar (or one-element) boolean input, e.g. a condition.
pub fn scalar_bool(t: &Tensor, what: &str) -> Result<bool> {
    if t.len() != 1 {
        bail!("{what} must hold one element, got shape {:?}", t.shape());
    }
    Ok(match t.dtype() {
        DType::Bool => t.as_slice::<bool>()?[0],
        _ => t.to_f64_vec()?[0] != 0.0,
    })
}

/// A required sequence input.
pub fn seq_input<'a>(inputs: &'a Inputs, i: usize, op: &str) -> Result<&'a [Tensor]> {
    match inputs.value(i) {
        Some(Value::Sequence(s)) => Ok(s),
        Some(v) => bail!("{op}: input {i} should be a sequence, got a {}", v.kind()),
        None => bail!("{op}: required sequence input {i} is missing"),
    }
}

/// The element type of a sequence type (Unknown when not a known sequence).
pub fn elem_type(t: &ValueType) -> ValueType {
    match t {
        ValueType::Sequence(e) => (**e).clone(),
        _ => ValueType::Unknown,
    }
}

/// A type covering both `a` and `b`: what the two agree on, unknown where they differ.
pub fn unify(a: &ValueType, b: &ValueType) -> ValueType {
    match (a, b) {
        (ValueType::Tensor(x), ValueType::Tensor(y)) => {
            let shape = match (&x.shape, &y.shape) {
                (Some(p), Some(q)) if p.len() == q.len() => Some(
                    p.iter()
                        .zip(q)
                        .map(|(d, e)| if d == e { d.clone() } else { Dim::Unknown })
                        .collect(),
                ),
                _ => None,
            };
            ValueType::Tensor(TensorType {
                dtype: x.dtype.or(y.dtype),
                shape,
            })
        }
        (ValueType::Sequence(x), ValueType::Sequence(y)) => {
            ValueType::Sequence(Box::new(unify(x, y)))
        }
        (ValueType::Optional(x), ValueType::Optional(y)) => {
            ValueType::Optional(Box::new(unify(x, y)))
        }
        (ValueType::Unknown, t) | (t, ValueType::Unknown) => loosen(t),
        _ => ValueType::Unknown,
    }
}

/// Keeps the kind and dtypes of `t`, forgetting shapes.
fn loosen(t: &ValueType) -> ValueType {
    match t {
        ValueType::Tensor(x) => ValueType::Tensor(TensorType {
            dtype: x.dtype,
            shape: None,
        }),
        ValueType::Sequence(e) => ValueType::Sequence(Box::new(loosen(e))),
        ValueType::Optional(e) => ValueType::Optional(Box::new(loosen(e))),
        ValueType::Unknown => ValueType::Unknown,
    }
}

/// Combines a declared type with an inferred one, keeping the more precise facts of each.
pub fn refine(declared: &ValueType, inferred: &ValueType) -> ValueType {
    match (declared, inferred) {
        (ValueType::Unknown, i) => i.clone(),
        (ValueType::Tensor(d), ValueType::Tensor(i)) => {
            let shape = match (&d.shape, &i.shape) {
                (Some(p), Some(q)) if p.len() == q.len() => Some(
                    p.iter()
                        .zip(q)
                        .map(|(a, b)| match (a, b) {
                            (Dim::Known(_), _) => a.clone(),
                            (_, Dim::Known(_)) => b.clone(),
                            (Dim::Unknown, _) => b.clone(),
                            _ => a.clone(),
                        })
                        .collect(),
                ),
                (None, q) => q.clone(),
                (p, _) => p.clone(),
            };
            ValueType::Tensor(TensorType {
                dtype: d.dtype.or(i.dtype),
                shape,
            })
        }
        (ValueType::Sequence(d), ValueType::Sequence(i)) => {
            ValueType::Sequence(Box::new(refine(d, i)))
        }
        (ValueType::Optional(d), ValueType::Optional(i)) => {
            ValueType::Optional(Box::new(refine(d, i)))
        }
        (d, _) => d.clone(),
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use crate::exec::Scope;
    use crate::op::{EvalCtx, Inputs, Op};
    use crate::{Graph, Result, Value};
    use edgeopt_tensor::Tensor;

    /// Evaluates `op` on arbitrary values (sequences, optionals) at `opset`.
    pub fn eval_values(
        op: &dyn Op,
        inputs: Vec<Option<Value>>,
        num_outputs: usize,
        opset: i64,
    ) -> Result<Vec<Value>> {
        let g = Graph::default();
        let scope = Scope::root(&g, &[]);
        let ctx = EvalCtx {
            opset,
            num_outputs,
            scope: &scope,
        };
        op.eval(&ctx, &Inputs { values: &inputs })
    }

    pub fn seq(v: Value) -> Vec<Tensor> {
        match v {
            Value::Sequence(s) => s,
            other => panic!("expected a sequence, got {other:?}"),
        }
    }

    pub fn f32s(t: &Tensor) -> Vec<f32> {
        t.to_vec::<f32>().unwrap()
    }

    pub fn tensor(v: &Value) -> &Tensor {
        v.as_tensor().expect("a tensor")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concat_slice_stack_round_trip() {
        let a = Tensor::from_vec(vec![2, 2], vec![1i64, 2, 3, 4]).unwrap();
        let b = Tensor::from_vec(vec![2, 1], vec![5i64, 6]).unwrap();
        let c = concat(&[a.clone(), b], 1).unwrap();
        assert_eq!(c.shape(), &[2, 3]);
        assert_eq!(c.to_vec::<i64>().unwrap(), vec![1, 2, 5, 3, 4, 6]);
        let s = slice_axis(&c, 1, 1, 2).unwrap();
        assert_eq!(s.to_vec::<i64>().unwrap(), vec![2, 5, 4, 6]);
        let st = stack(&[a.clone(), a], 1).unwrap();
        assert_eq!(st.shape(), &[2, 2, 2]);
        assert_eq!(st.to_vec::<i64>().unwrap(), vec![1, 2, 1, 2, 3, 4, 3, 4]);
    }

    #[test]
    fn strings_and_errors() {
        let a = Tensor::from_strings(vec![2], vec!["a".into(), "b".into()]).unwrap();
        let c = concat(&[a.clone(), a.clone()], 0).unwrap();
        assert_eq!(c.as_strings().unwrap(), &["a", "b", "a", "b"]);
        assert!(concat(&[a.clone(), Tensor::vec1(vec![1f32])], 0).is_err());
        assert!(slice_axis(&a, 0, 1, 5).is_err());
        assert!(concat(&[], 0).is_err());
        let g = gather_flat(&a, &[1, 0, 1], vec![3]).unwrap();
        assert_eq!(g.as_strings().unwrap(), &["b", "a", "b"]);
        assert!(gather_flat(&a, &[2], vec![1]).is_err());
    }

    #[test]
    fn unify_forgets_disagreeing_dims() {
        let a = ValueType::known(DType::F32, &[2, 3]);
        let b = ValueType::known(DType::F32, &[2, 4]);
        assert_eq!(
            unify(&a, &b),
            ValueType::tensor(DType::F32, vec![Dim::Known(2), Dim::Unknown])
        );
        assert_eq!(
            unify(&a, &ValueType::Unknown),
            ValueType::dtype_only(DType::F32)
        );
    }
}
