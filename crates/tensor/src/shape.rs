//! Static shapes of concrete tensors, symbolic dims of graph values, and broadcasting.

use crate::{Result, TensorError};
use std::fmt;

/// The most elements one tensor may hold (2^31). Anything larger is a hostile or broken file on
/// an edge device, and refusing it up front avoids a huge allocation.
pub const MAX_ELEMENTS: usize = 1 << 31;

/// Number of elements of `shape`, refusing overflow and anything over [`MAX_ELEMENTS`].
pub fn checked_numel(shape: &[usize]) -> Result<usize> {
    let mut n: u128 = 1;
    for &d in shape {
        n = n.saturating_mul(d as u128);
    }
    if n > MAX_ELEMENTS as u128 {
        return Err(TensorError::TooLarge {
            shape: shape.to_vec(),
            elements: n,
            limit: MAX_ELEMENTS,
        });
    }
    Ok(n as usize)
}

/// Row-major strides, in elements.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Numpy-style multidirectional broadcast of two shapes.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let r = a.len().max(b.len());
    let mut out = vec![0; r];
    for i in 0..r {
        let da = if i + a.len() >= r {
            a[i + a.len() - r]
        } else {
            1
        };
        let db = if i + b.len() >= r {
            b[i + b.len() - r]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => {
                return Err(TensorError::Broadcast {
                    a: a.to_vec(),
                    b: b.to_vec(),
                })
            }
        };
    }
    Ok(out)
}

/// Strides for reading a tensor of `shape` as if broadcast to `target` (0 on broadcast axes).
pub fn broadcast_strides(shape: &[usize], target: &[usize]) -> Vec<usize> {
    let own = strides(shape);
    let off = target.len() - shape.len();
    (0..target.len())
        .map(|i| {
            if i < off || shape[i - off] == 1 {
                0
            } else {
                own[i - off]
            }
        })
        .collect()
}

/// Normalizes a possibly negative axis against `rank` (valid range `-rank..rank`).
pub fn normalize_axis(axis: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    if axis < -r || axis >= r {
        return Err(TensorError::Axis { axis, rank });
    }
    Ok(if axis < 0 {
        (axis + r) as usize
    } else {
        axis as usize
    })
}

/// One dimension of a graph value's type: known, named (symbolic), or unknown.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Dim {
    Known(usize),
    Sym(String),
    Unknown,
}

impl Dim {
    pub fn known(&self) -> Option<usize> {
        match self {
            Dim::Known(d) => Some(*d),
            _ => None,
        }
    }
}

impl From<usize> for Dim {
    fn from(d: usize) -> Self {
        Dim::Known(d)
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Known(d) => write!(f, "{d}"),
            Dim::Sym(s) => f.write_str(s),
            Dim::Unknown => f.write_str("?"),
        }
    }
}

/// Shape of a graph value: dims may be symbolic.
pub type SymShape = Vec<Dim>;

/// All dims known? Then the concrete shape.
pub fn concrete(shape: &[Dim]) -> Option<Vec<usize>> {
    shape.iter().map(Dim::known).collect()
}

/// Formats a symbolic shape as `[1, N, 224, 224]`.
pub fn fmt_sym(shape: &[Dim]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

/// Broadcast of symbolic shapes; unknowns stay unknown unless the other side decides.
pub fn broadcast_sym(a: &[Dim], b: &[Dim]) -> Result<SymShape> {
    let r = a.len().max(b.len());
    let get = |s: &[Dim], i: usize| {
        if i + s.len() >= r {
            s[i + s.len() - r].clone()
        } else {
            Dim::Known(1)
        }
    };
    let mut out = Vec::with_capacity(r);
    for i in 0..r {
        let (x, y) = (get(a, i), get(b, i));
        out.push(match (&x, &y) {
            _ if x == y => x,
            (Dim::Known(1), _) => y,
            (_, Dim::Known(1)) => x,
            (Dim::Known(p), Dim::Known(q)) if p != q => {
                return Err(TensorError::Broadcast {
                    a: a.iter().map(|d| d.known().unwrap_or(0)).collect(),
                    b: b.iter().map(|d| d.known().unwrap_or(0)).collect(),
                })
            }
            (Dim::Known(_), _) => x,
            (_, Dim::Known(_)) => y,
            _ => Dim::Unknown,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting() {
        assert_eq!(
            broadcast_shapes(&[2, 1, 4], &[3, 1]).unwrap(),
            vec![2, 3, 4]
        );
        assert!(broadcast_shapes(&[2, 3], &[4]).is_err());
        assert_eq!(broadcast_strides(&[3, 1], &[2, 3, 4]), vec![0, 1, 0]);
    }

    #[test]
    fn huge_shapes_are_refused() {
        assert!(checked_numel(&[1_000_000, 1_000_000]).is_err());
        assert!(checked_numel(&[usize::MAX, 2]).is_err());
        assert_eq!(checked_numel(&[2, 3]).unwrap(), 6);
        assert_eq!(checked_numel(&[]).unwrap(), 1);
    }

    #[test]
    fn axes() {
        assert_eq!(normalize_axis(-1, 3).unwrap(), 2);
        assert!(normalize_axis(3, 3).is_err());
    }
}
