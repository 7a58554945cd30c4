//! Helpers shared by the quantization ops: how a scale / zero point maps onto the elements of
//! the quantized tensor (per tensor, per axis, blocked), float rounding in a given precision, and
//! the dtype lists.

use crate::ops::cast::kernel::{cast_tensor, CastOpts};
use crate::{bail, Result};
use edgeopt_tensor::shape::normalize_axis;
use edgeopt_tensor::{bf16, f16, DType, Tensor};

/// The 8-bit float types: their zero point must be zero and is otherwise ignored.
pub fn is_f8(d: DType) -> bool {
    matches!(
        d,
        DType::F8E4M3FN | DType::F8E4M3FNUZ | DType::F8E5M2 | DType::F8E5M2FNUZ
    )
}

/// Integer range of a quantized integer type.
pub fn int_range(d: DType) -> Option<(i64, i64)> {
    Some(match d {
        DType::U8 => (0, 255),
        DType::I8 => (-128, 127),
        DType::U16 => (0, 65535),
        DType::I16 => (-32768, 32767),
        DType::U4 => (0, 15),
        DType::I4 => (-8, 7),
        DType::U2 => (0, 3),
        DType::I2 => (-2, 1),
        _ => return None,
    })
}

/// Types QuantizeLinear may produce (and DequantizeLinear read, with I32).
pub fn is_quant_type(d: DType) -> bool {
    int_range(d).is_some() || is_f8(d) || d == DType::F4E2M1
}

/// Every element as f64 (exact for every dtype but u64/i64 beyond 2^53).
pub fn values_f64(t: &Tensor) -> Result<Vec<f64>> {
    Ok(cast_tensor(t, DType::F64, CastOpts::default())?.to_vec::<f64>()?)
}

/// Every element of an integer tensor as i64.
pub fn values_i64(t: &Tensor) -> Result<Vec<i64>> {
    Ok(cast_tensor(t, DType::I64, CastOpts::default())?.to_vec::<i64>()?)
}

/// Rounds `x` to the precision of float dtype `d` (numpy computes narrow floats in f32 and
/// rounds each result back).
pub fn round_to(d: DType, x: f64) -> f64 {
    match d {
        DType::F64 => x,
        DType::F16 => f16::from_f32(x as f32).to_f64(),
        DType::BF16 => bf16::from_f32(x as f32).to_f64(),
        _ => x as f32 as f64,
    }
}

/// numpy's result type of an arithmetic op between `a` and `b` (floats, or int32 with a float).
pub fn promote(a: DType, b: DType) -> DType {
    match (a, b) {
        _ if a == b && matches!(a, DType::F32 | DType::F64 | DType::F16 | DType::BF16) => a,
        _ if a.is_int() || b.is_int() || a == DType::F64 || b == DType::F64 => DType::F64,
        _ => DType::F32,
    }
}

/// `a op b` as numpy computes it in dtype `d`.
pub fn arith(d: DType, a: f64, b: f64, op: fn(f64, f64) -> f64) -> f64 {
    match d {
        DType::F64 => op(a, b),
        _ => round_to(d, op(a as f32 as f64, b as f32 as f64) as f32 as f64),
    }
}

/// Maps each element of a tensor of shape `x` onto the element of a scale / zero point.
#[derive(Clone, Debug)]
pub enum ParamMap {
    Tensor,
    /// Index along `axis`: `(i / inner) % n`.
    Axis {
        inner: usize,
        n: usize,
    },
    /// Blocks of `block` along the axis: the parameter has the input's shape with that axis
    /// divided (rounded up) by `block`.
    Blocked {
        inner: usize,
        n: usize,
        block: usize,
        nb: usize,
    },
}

impl ParamMap {
    /// Validates `param`'s shape against `x` for `op` and builds the mapping.
    pub fn new(
        op: &str,
        name: &str,
        x: &[usize],
        param: &[usize],
        axis: i64,
        block: i64,
    ) -> Result<ParamMap> {
        if param.iter().product::<usize>() == 1 {
            return Ok(ParamMap::Tensor);
        }
        let ax = match normalize_axis(axis, x.len()) {
            Ok(a) => a,
            Err(_) => bail!("{op}: axis {axis} is out of range for input of shape {x:?}"),
        };
        let inner: usize = x[ax + 1..].iter().product();
        let n = x[ax];
        if block < 0 {
            bail!("{op}: block_size must be >= 0, got {block}");
        }
        if block == 0 {
            if param.len() != 1 || param[0] != n {
                bail!("{op}: {name} of shape {param:?} must be a scalar or 1-D of length {n} (axis {ax} of {x:?})");
            }
            return Ok(ParamMap::Axis { inner, n });
        }
        let block = block as usize;
        let nb = n.div_ceil(block);
        let ok = param.len() == x.len()
            && (0..x.len()).all(|d| param[d] == if d == ax { nb } else { x[d] });
        if !ok {
            bail!("{op}: {name} of shape {param:?} does not match input {x:?} blocked by {block} along axis {ax}");
        }
        Ok(ParamMap::Blocked {
            inner,
            n,
            block,
            nb,
        })
    }

    /// Index into the parameter for element `i` of the input.
    pub fn at(&self, i: usize) -> usize {
        match *self {
            ParamMap::Tensor => 0,
            ParamMap::Axis { inner, n } => (i / inner) % n,
            ParamMap::Blocked {
                inner,
                n,
                block,
                nb,
            } => {
                let (outer, a, r) = (i / (inner * n), (i / inner) % n, i % inner);
                (outer * nb + a / block) * inner + r
            }
        }
    }
}

/// Checks that a zero point has its scale's shape (both scalars count as the same).
pub fn check_zero_point_shape(op: &str, scale: &Tensor, zp: &Tensor) -> Result<()> {
    if scale.shape() != zp.shape() && !(scale.len() == 1 && zp.len() == 1) {
        bail!(
            "{op}: zero point shape {:?} differs from scale shape {:?}",
            zp.shape(),
            scale.shape()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn param_maps() {
        let m = ParamMap::new("Q", "s", &[2, 3, 2], &[3], 1, 0).unwrap();
        assert_eq!(
            (0..12).map(|i| m.at(i)).collect::<Vec<_>>(),
            [0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2]
        );
        // Blocks of 2 along axis 1 of [2, 3]: scale [2, 2], the last block is short.
        let m = ParamMap::new("Q", "s", &[2, 3], &[2, 2], 1, 2).unwrap();
        assert_eq!(
            (0..6).map(|i| m.at(i)).collect::<Vec<_>>(),
            [0, 0, 1, 2, 2, 3]
        );
        assert!(ParamMap::new("Q", "s", &[2, 3], &[2], 1, 0).is_err());
        assert!(ParamMap::new("Q", "s", &[2, 3], &[3], 5, 0).is_err());
        assert!(ParamMap::new("Q", "s", &[2, 3], &[2, 3], 1, 2).is_err());
        assert!(matches!(
            ParamMap::new("Q", "s", &[2, 3], &[1, 1], 1, 0).unwrap(),
            ParamMap::Tensor
        ));
    }

    #[test]
    fn numpy_precision() {
        assert_eq!(promote(DType::F16, DType::F16), DType::F16);
        assert_eq!(promote(DType::I32, DType::F32), DType::F64);
        assert_eq!(promote(DType::F16, DType::F32), DType::F32);
        // 1/3 in f16 is 0.333251953125.
        assert_eq!(arith(DType::F16, 1.0, 3.0, |a, b| a / b), 0.333251953125);
    }
}
