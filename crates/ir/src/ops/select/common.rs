//! Dtype-agnostic element gathering, shared by the data-movement ops of the select and vision
//! families. It copies raw element bytes, so it handles every dtype (strings, bool, 8-bit floats
//! and sub-byte ints, which are stored one element per byte) without dispatch.

use crate::{bail, Result};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{DType, Tensor};

/// Builds a tensor of `shape` whose elements are `sources[s][i]` for each `(s, i)` of `picks`.
/// All sources must share one dtype.
pub fn take_from(
    sources: &[&Tensor],
    picks: &[(usize, usize)],
    shape: Vec<usize>,
) -> Result<Tensor> {
    let Some(first) = sources.first() else {
        bail!("take_from: no source tensors")
    };
    let dt = first.dtype();
    if let Some(t) = sources.iter().find(|t| t.dtype() != dt) {
        bail!("take_from: mixed dtypes {dt} and {}", t.dtype());
    }
    let n = checked_numel(&shape)?;
    if n != picks.len() {
        bail!(
            "take_from: {} picks for an output of shape {shape:?}",
            picks.len()
        );
    }
    let check = |&(s, i): &(usize, usize)| -> Result<()> {
        match sources.get(s) {
            Some(t) if i < t.len() => Ok(()),
            _ => bail!("take_from: element {i} of source {s} is out of range"),
        }
    };
    if dt == DType::String {
        let strs: Vec<&[String]> = sources
            .iter()
            .map(|t| t.as_strings())
            .collect::<Result<_, _>>()?;
        let mut out = Vec::with_capacity(n);
        for p in picks {
            check(p)?;
            out.push(strs[p.0][p.1].clone());
        }
        return Ok(Tensor::from_strings(shape, out)?);
    }
    let size = dt.size_of();
    let bytes: Vec<&[u8]> = sources.iter().map(|t| t.as_bytes()).collect();
    let mut out = Vec::with_capacity(n * size);
    for p in picks {
        check(p)?;
        out.extend_from_slice(&bytes[p.0][p.1 * size..(p.1 + 1) * size]);
    }
    Ok(Tensor::from_bytes(dt, shape, out.into())?)
}

/// Elements `idx` of `t` (flat, row-major), shaped as `shape`.
pub fn take(t: &Tensor, idx: &[usize], shape: Vec<usize>) -> Result<Tensor> {
    let picks: Vec<(usize, usize)> = idx.iter().map(|&i| (0, i)).collect();
    take_from(&[t], &picks, shape)
}

/// A one-element tensor holding the zero of `dt` (empty string, false, 0).
pub fn zero_of(dt: DType) -> Result<Tensor> {
    Ok(Tensor::zeros(dt, vec![1])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_any_dtype() {
        let t = Tensor::vec1(vec![1.5f32, 2.5, 3.5]);
        let y = take(&t, &[2, 0], vec![2]).unwrap();
        assert_eq!(y.as_slice::<f32>().unwrap(), &[3.5, 1.5]);
        let s = Tensor::from_strings(vec![2], vec!["a".into(), "b".into()]).unwrap();
        let y = take_from(
            &[&s, &zero_of(DType::String).unwrap()],
            &[(0, 1), (1, 0)],
            vec![2],
        )
        .unwrap();
        assert_eq!(y.as_strings().unwrap(), &["b".to_string(), String::new()]);
        assert!(take(&t, &[3], vec![1]).is_err());
    }
}
