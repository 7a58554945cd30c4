//! Helpers shared by the array (data movement) ops: a dtype-agnostic element buffer, axis
//! normalization, index iteration and small inference helpers.

use crate::op::InferCtx;
use crate::{bail, Result, TensorType, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{DType, Dim, SymShape, Tensor};

/// Builds a tensor by copying elements out of other tensors of the same dtype, whatever that
/// dtype is (strings, bools, encoded 4/8-bit types included): movement ops never look at values.
pub struct ElemBuf {
    dtype: DType,
    size: usize,
    bytes: Vec<u8>,
    strings: Vec<String>,
    /// First internal misuse (dtype mismatch, index past the end); reported by `finish`.
    error: Option<String>,
}

impl ElemBuf {
    /// An empty buffer for `capacity` elements of `dtype` (the caller has bounded `capacity`
    /// with `checked_numel`).
    pub fn new(dtype: DType, capacity: usize) -> Self {
        let size = dtype.size_of();
        let (bytes, strings) = if dtype == DType::String {
            (Vec::new(), Vec::with_capacity(capacity))
        } else {
            (
                Vec::with_capacity(capacity.saturating_mul(size)),
                Vec::new(),
            )
        };
        ElemBuf {
            dtype,
            size,
            bytes,
            strings,
            error: None,
        }
    }

    /// A buffer holding a copy of `t`'s elements, to be modified in place with [`ElemBuf::set`].
    pub fn copy_of(t: &Tensor) -> Self {
        let mut b = ElemBuf::new(t.dtype(), t.len());
        b.extend(t, 0, t.len());
        b
    }

    pub fn len(&self) -> usize {
        if self.dtype == DType::String {
            self.strings.len()
        } else {
            self.bytes.len() / self.size.max(1)
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn check(&mut self, src: &Tensor, end: usize) -> bool {
        if src.dtype() != self.dtype {
            self.error
                .get_or_insert(format!("mixes {} and {} elements", self.dtype, src.dtype()));
            return false;
        }
        if end > src.len() {
            self.error.get_or_insert(format!(
                "reads element {end} of a {}-element tensor",
                src.len()
            ));
            return false;
        }
        true
    }

    /// Appends `len` consecutive elements of `src` starting at flat index `start`.
    pub fn extend(&mut self, src: &Tensor, start: usize, len: usize) {
        if len == 0 || !self.check(src, start.saturating_add(len)) {
            return;
        }
        if self.dtype == DType::String {
            if let Ok(s) = src.as_strings() {
                self.strings.extend_from_slice(&s[start..start + len]);
            }
        } else {
            self.bytes
                .extend_from_slice(&src.as_bytes()[start * self.size..(start + len) * self.size]);
        }
    }

    /// Appends element `i` of `src`.
    pub fn push(&mut self, src: &Tensor, i: usize) {
        self.extend(src, i, 1);
    }

    /// Overwrites element `dst` of the buffer with element `i` of `src`.
    pub fn set(&mut self, dst: usize, src: &Tensor, i: usize) {
        if !self.check(src, i + 1) {
            return;
        }
        if dst >= self.len() {
            self.error.get_or_insert(format!(
                "writes element {dst} of a {}-element buffer",
                self.len()
            ));
            return;
        }
        if self.dtype == DType::String {
            if let Ok(s) = src.as_strings() {
                self.strings[dst] = s[i].clone();
            }
        } else {
            let n = self.size;
            self.bytes[dst * n..(dst + 1) * n].copy_from_slice(&src.as_bytes()[i * n..(i + 1) * n]);
        }
    }

    pub fn finish(self, shape: Vec<usize>) -> Result<Tensor> {
        if let Some(e) = self.error {
            bail!("internal error while copying elements: {e}");
        }
        if self.dtype == DType::String {
            Ok(Tensor::from_strings(shape, self.strings)?)
        } else {
            Ok(Tensor::from_bytes(self.dtype, shape, self.bytes.into())?)
        }
    }
}

/// Gathers elements of `src` at the flat indices `idx` into a tensor of `shape`.
pub fn take(
    src: &Tensor,
    shape: Vec<usize>,
    idx: impl IntoIterator<Item = usize>,
) -> Result<Tensor> {
    let n = checked_numel(&shape)?;
    let mut b = ElemBuf::new(src.dtype(), n);
    for i in idx {
        b.push(src, i);
    }
    b.finish(shape)
}

/// A tensor of `shape` with every element equal to element `i` of `src`.
pub fn full(src: &Tensor, i: usize, shape: Vec<usize>) -> Result<Tensor> {
    let n = checked_numel(&shape)?;
    if i >= src.len() {
        bail!(
            "internal error: fill value {i} of a {}-element tensor",
            src.len()
        );
    }
    if src.dtype() == DType::String {
        let s = src.as_strings()?[i].clone();
        return Ok(Tensor::from_strings(shape, vec![s; n])?);
    }
    let size = src.dtype().size_of();
    let bytes = src.as_bytes()[i * size..(i + 1) * size].repeat(n);
    Ok(Tensor::from_bytes(src.dtype(), shape, bytes.into())?)
}

/// Normalizes `axis` against `rank`, with an error naming the op.
pub fn norm_axis(op: &str, axis: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    if axis < -r || axis >= r {
        bail!(
            "{op}: axis {axis} is out of range for rank {rank} (valid: {}..{})",
            -r,
            r.max(1) - 1
        );
    }
    Ok(if axis < 0 {
        (axis + r) as usize
    } else {
        axis as usize
    })
}

/// Calls `f` with every multi-index of `shape` in row-major order.
pub fn for_each_index(shape: &[usize], mut f: impl FnMut(&[usize])) {
    if shape.contains(&0) {
        return;
    }
    let mut idx = vec![0usize; shape.len()];
    loop {
        f(&idx);
        let mut d = shape.len();
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}

/// Row-major strides of `shape`, in elements.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    edgeopt_tensor::shape::strides(shape)
}

/// Resolves a possibly negative index into `0..dim`, or an error naming the op and what it indexes.
pub fn norm_index(op: &str, what: &str, i: i64, dim: usize) -> Result<usize> {
    let d = dim as i64;
    let j = if i < 0 { i + d } else { i };
    if j < 0 || j >= d {
        bail!("{op}: {what} index {i} is out of range for a dimension of size {dim}");
    }
    Ok(j as usize)
}

/// A constant integer input at inference time (shape, axes, pads...).
pub fn konst_ints(ctx: &InferCtx, i: usize) -> Option<Vec<i64>> {
    ctx.konst(i).and_then(|t| t.to_i64_vec().ok())
}

/// A tensor type from an optional dtype and shape.
pub fn tensor_type(dtype: Option<DType>, shape: Option<SymShape>) -> ValueType {
    ValueType::Tensor(TensorType { dtype, shape })
}

/// `n` unknown dims.
pub fn unknown_dims(n: usize) -> SymShape {
    vec![Dim::Unknown; n]
}

/// Converts a data-derived i64 dimension into a `usize`, refusing negatives.
pub fn dim_of(op: &str, what: &str, v: i64) -> Result<usize> {
    if v < 0 {
        bail!("{op}: {what} has negative dimension {v}");
    }
    Ok(v as usize)
}

/// Product of symbolic dims: known if all are, the symbol itself if it is the only non-1 factor.
pub fn sym_product(dims: &[Dim]) -> Dim {
    let mut known = 1usize;
    let mut other: Option<&Dim> = None;
    for d in dims {
        match d {
            Dim::Known(k) => known = known.saturating_mul(*k),
            _ if other.is_none() => other = Some(d),
            _ => return Dim::Unknown,
        }
    }
    match other {
        None => Dim::Known(known),
        Some(d) if known == 1 => d.clone(),
        Some(_) if known == 0 => Dim::Known(0),
        Some(_) => Dim::Unknown,
    }
}

/// Length of a 1-D integer input (shape, axes...) from its static type, if known.
pub fn vec_len(ctx: &InferCtx, i: usize) -> Option<usize> {
    match ctx.tensor(i).shape.as_deref() {
        Some([d]) => d.known(),
        Some([]) => Some(1),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_works_for_strings_and_bools() {
        let s = Tensor::from_strings(vec![3], vec!["a".into(), "b".into(), "c".into()]).unwrap();
        let t = take(&s, vec![2], [2, 0]).unwrap();
        assert_eq!(t.as_strings().unwrap(), &["c".to_string(), "a".to_string()]);
        let b = Tensor::vec1(vec![true, false]);
        let t = take(&b, vec![3], [1, 1, 0]).unwrap();
        assert_eq!(t.as_slice::<bool>().unwrap(), &[false, false, true]);
    }

    #[test]
    fn misuse_is_an_error_not_a_panic() {
        let a = Tensor::vec1(vec![1f32]);
        assert!(take(&a, vec![1], [5]).is_err());
        let mut b = ElemBuf::new(DType::F32, 1);
        b.push(&Tensor::vec1(vec![1i64]), 0);
        assert!(b.finish(vec![1]).is_err());
    }

    #[test]
    fn index_iteration_is_row_major() {
        let mut seen = vec![];
        for_each_index(&[2, 2], |i| seen.push(i.to_vec()));
        assert_eq!(seen, vec![vec![0, 0], vec![0, 1], vec![1, 0], vec![1, 1]]);
        let mut n = 0;
        for_each_index(&[], |_| n += 1);
        assert_eq!(n, 1);
        for_each_index(&[3, 0], |_| n += 1);
        assert_eq!(n, 1);
    }
}
