//! Shared pieces of the reduce family: axis resolution, the reduction plan (which input elements
//! feed which output element) and shape inference.

use crate::{bail, Result, TensorType};
use edgeopt_tensor::shape::{checked_numel, normalize_axis, strides};
use edgeopt_tensor::{Dim, Tensor};

/// The axes to reduce over, sorted and deduplicated. `axes` is the attribute or input value,
/// `None` when omitted. An omitted or empty list reduces everything, unless
/// `noop_with_empty_axes` asks for an empty reduction (identity per element).
pub fn resolve_axes(
    op: &str,
    axes: Option<&[i64]>,
    noop_with_empty_axes: bool,
    rank: usize,
) -> Result<Vec<usize>> {
    let list = match axes {
        Some(a) if !a.is_empty() => a,
        _ if noop_with_empty_axes => return Ok(vec![]),
        _ => return Ok((0..rank).collect()),
    };
    let mut out = Vec::with_capacity(list.len());
    for &a in list {
        match normalize_axis(a, rank) {
            Ok(ax) => out.push(ax),
            Err(_) => bail!("{op}: axis {a} is out of range for an input of rank {rank}"),
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Reads the optional axes input (1-D integer tensor); an empty tensor counts as omitted.
pub fn axes_from_input(op: &str, t: Option<&Tensor>) -> Result<Option<Vec<i64>>> {
    match t {
        None => Ok(None),
        Some(t) if t.is_empty() => Ok(None),
        Some(t) => match t.to_i64_vec() {
            Ok(v) if t.rank() <= 1 => Ok(Some(v)),
            _ => bail!(
                "{op}: axes must be a 1-D integer tensor, got {} of shape {:?}",
                t.dtype(),
                t.shape()
            ),
        },
    }
}

/// Output shape of a reduction over the sorted `axes`.
pub fn reduced_shape(shape: &[usize], axes: &[usize], keepdims: bool) -> Vec<usize> {
    let mut out = Vec::with_capacity(shape.len());
    for (i, &d) in shape.iter().enumerate() {
        if axes.contains(&i) {
            if keepdims {
                out.push(1);
            }
        } else {
            out.push(d);
        }
    }
    out
}

/// Which input offsets feed each output element: output element `o` reduces
/// `x[outer[o] + inner[j]]` for every `j`. Output elements are in row-major order.
pub struct Plan {
    pub out_shape: Vec<usize>,
    pub outer: Vec<usize>,
    pub inner: Vec<usize>,
}

/// Offsets of every index of `dims` under `strides`, in row-major order.
fn offsets(dims: &[usize], st: &[usize]) -> Result<Vec<usize>> {
    let n = checked_numel(dims)?;
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return Ok(out);
    }
    let mut idx = vec![0usize; dims.len()];
    let mut off = 0usize;
    for _ in 0..n {
        out.push(off);
        for d in (0..dims.len()).rev() {
            idx[d] += 1;
            off += st[d];
            if idx[d] < dims[d] {
                break;
            }
            off -= st[d] * dims[d];
            idx[d] = 0;
        }
    }
    Ok(out)
}

impl Plan {
    pub fn new(shape: &[usize], axes: &[usize], keepdims: bool) -> Result<Plan> {
        let st = strides(shape);
        let (mut kd, mut ks, mut rd, mut rs) = (vec![], vec![], vec![], vec![]);
        for (i, (&d, &s)) in shape.iter().zip(&st).enumerate() {
            if axes.contains(&i) {
                rd.push(d);
                rs.push(s);
            } else {
                kd.push(d);
                ks.push(s);
            }
        }
        Ok(Plan {
            out_shape: reduced_shape(shape, axes, keepdims),
            outer: offsets(&kd, &ks)?,
            inner: offsets(&rd, &rs)?,
        })
    }

    /// Folds each output's group with `f` (its input values, in row-major order of the
    /// reduced axes).
    pub fn map<T: Copy, O>(
        &self,
        x: &[T],
        mut f: impl FnMut(&mut dyn Iterator<Item = T>) -> O,
    ) -> Vec<O> {
        self.outer
            .iter()
            .map(|&base| {
                let mut it = self.inner.iter().map(|&j| x[base + j]);
                f(&mut it)
            })
            .collect()
    }
}

/// Shape inference for a reduction: `axes` is `Some` when known (attribute or constant input,
/// `Some(empty)` when omitted), `None` when it is a run-time input of `axes_len` entries.
pub fn infer_shape(
    x: &TensorType,
    axes: Option<&[i64]>,
    axes_len: Option<usize>,
    keepdims: bool,
    noop: bool,
) -> Result<Option<Vec<Dim>>> {
    let Some(shape) = &x.shape else {
        return Ok(None);
    };
    let rank = shape.len();
    match axes {
        Some(a) => {
            let axes = resolve_axes("reduce", Some(a), noop, rank)?;
            let mut out = Vec::with_capacity(rank);
            for (i, d) in shape.iter().enumerate() {
                if !axes.contains(&i) {
                    out.push(d.clone());
                } else if keepdims {
                    out.push(Dim::Known(1));
                }
            }
            Ok(Some(out))
        }
        None if keepdims => Ok(Some(vec![Dim::Unknown; rank])),
        None => match axes_len {
            Some(n) if n > 0 && n <= rank => Ok(Some(vec![Dim::Unknown; rank - n])),
            _ => Ok(None),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_groups_reduced_axes() {
        // shape [2,3], reduce axis 1: rows.
        let p = Plan::new(&[2, 3], &[1], false).unwrap();
        assert_eq!(p.out_shape, vec![2]);
        assert_eq!(p.outer, vec![0, 3]);
        assert_eq!(p.inner, vec![0, 1, 2]);
        let p = Plan::new(&[2, 3], &[0], true).unwrap();
        assert_eq!(p.out_shape, vec![1, 3]);
        assert_eq!(p.outer, vec![0, 1, 2]);
        assert_eq!(p.inner, vec![0, 3]);
    }

    #[test]
    fn axes_resolution() {
        assert_eq!(resolve_axes("R", None, false, 3).unwrap(), vec![0, 1, 2]);
        assert_eq!(
            resolve_axes("R", Some(&[]), true, 3).unwrap(),
            Vec::<usize>::new()
        );
        assert_eq!(
            resolve_axes("R", Some(&[-1, 0, 2]), false, 3).unwrap(),
            vec![0, 2]
        );
        assert!(resolve_axes("R", Some(&[3]), false, 3).is_err());
    }
}
