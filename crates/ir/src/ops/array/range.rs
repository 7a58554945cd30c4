//! Range: <https://onnx.ai/onnx/operators/onnx__Range.html>
//!
//! Scalar inputs `start`, `limit`, `delta` of one numeric type; output `output`: 1-D with
//! `max(ceil((limit - start) / delta), 0)` elements, `output[i] = start + i * delta`.
//! Opset differences: v11 float, double, int16, int32, int64; v27 adds float16/bfloat16 and
//! attribute `stash_type` (1 = float, 11 = double, default 1): the precision those two types
//! compute in. Static inference reads constant inputs (`ctx.konst`) to give a known length.

use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::array::common::tensor_type;
use crate::registry::BuildCtx;
use crate::{bail, dispatch_num, Cost, Result, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{DType, Dim, Numeric, Tensor};

#[derive(Clone, Debug)]
pub struct Range {
    pub stash_type: Option<i64>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let stash_type = ctx.attrs.int("stash_type")?;
    if let Some(s) = stash_type {
        if s != 1 && s != 11 {
            bail!("Range: stash_type must be 1 (float) or 11 (double), got {s}");
        }
    }
    Ok(Box::new(Range { stash_type }))
}

/// Element count, computed exactly for integers and in f64 for floats (as numpy does).
fn count(dt: DType, start: &Tensor, limit: &Tensor, delta: &Tensor) -> Result<usize> {
    let n: i128 = if dt.is_float() {
        let [s, l, d] = [start, limit, delta].map(|t| {
            t.to_f64_vec()
                .ok()
                .and_then(|v| v.first().copied())
                .unwrap_or(f64::NAN)
        });
        let c = ((l - s) / d).ceil();
        if d == 0.0 || !c.is_finite() {
            bail!("Range: cannot count from {s} to {l} by {d}");
        }
        c.max(-1.0).min(u32::MAX as f64) as i128
    } else {
        let [s, l, d] = [start, limit, delta].map(|t| {
            t.to_i64_vec()
                .ok()
                .and_then(|v| v.first().copied())
                .unwrap_or(0) as i128
        });
        if d == 0 {
            bail!("Range: delta must not be 0");
        }
        let span = l - s;
        // Ceiling division that rounds towards +inf for either sign.
        if (span > 0) == (d > 0) && span != 0 {
            (span.abs() + d.abs() - 1) / d.abs()
        } else {
            0
        }
    };
    let n = n.max(0) as usize;
    checked_numel(&[n])?;
    Ok(n)
}

fn values<T: Numeric + bytemuck::NoUninit>(
    start: &Tensor,
    delta: &Tensor,
    n: usize,
    f32_math: bool,
) -> Result<Tensor> {
    let v: Vec<T> = if T::DTYPE.is_float() {
        let (s, d) = (
            start.as_slice::<T>()?[0].as_f64(),
            delta.as_slice::<T>()?[0].as_f64(),
        );
        if f32_math {
            (0..n)
                .map(|i| T::from_f64((s as f32 + i as f32 * d as f32) as f64))
                .collect()
        } else {
            (0..n).map(|i| T::from_f64(s + i as f64 * d)).collect()
        }
    } else {
        // Exact integer arithmetic: every value lies between start and limit, so it fits T.
        let (s, d) = (
            start.to_i64_vec()?[0] as i128,
            delta.to_i64_vec()?[0] as i128,
        );
        (0..n)
            .map(|i| <T as num_traits::NumCast>::from(s + i as i128 * d).unwrap_or_default())
            .collect()
    };
    Ok(Tensor::vec1(v))
}

impl Op for Range {
    fn op_type(&self) -> &str {
        "Range"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let dtype = ctx.tensor(0).dtype;
        let n = match (ctx.konst(0), ctx.konst(1), ctx.konst(2), dtype) {
            (Some(s), Some(l), Some(d), Some(dt)) => Dim::Known(count(dt, s, l, d)?),
            _ => Dim::Unknown,
        };
        Ok(vec![tensor_type(dtype, Some(vec![n]))])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (s, l, d) = (inputs.tensor(0)?, inputs.tensor(1)?, inputs.tensor(2)?);
        let dt = s.dtype();
        for t in [s, l, d] {
            if t.dtype() != dt || t.len() != 1 {
                bail!(
                    "Range: start, limit and delta must be scalars of one type, got {}{:?}",
                    t.dtype(),
                    t.shape()
                );
            }
        }
        let n = count(dt, s, l, d)?;
        // Half types accumulate in float unless stash_type asks for double.
        let f32_math =
            matches!(dt, DType::F16 | DType::BF16 | DType::F32) && self.stash_type != Some(11);
        let out = dispatch_num!(dt, T => values::<T>(s, d, n, f32_math)?);
        Ok(vec![out.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.elementwise(1)
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .opt_int("stash_type", self.stash_type)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{eval1, infer};

    fn run<T: Numeric + bytemuck::NoUninit>(s: T, l: T, d: T) -> Result<Tensor> {
        eval1(
            &Range { stash_type: None },
            &[
                Some(Tensor::scalar(s)),
                Some(Tensor::scalar(l)),
                Some(Tensor::scalar(d)),
            ],
        )
    }

    #[test]
    fn spec_examples() {
        assert_eq!(
            run(3i32, 9, 3).unwrap().to_vec::<i32>().unwrap(),
            vec![3, 6]
        );
        assert_eq!(
            run(10i64, 4, -2).unwrap().to_vec::<i64>().unwrap(),
            vec![10, 8, 6]
        );
        assert_eq!(
            run(1f32, 5., 2.).unwrap().to_vec::<f32>().unwrap(),
            vec![1., 3.]
        );
        assert_eq!(run(0.0f64, 1.0, 0.3).unwrap().len(), 4);
        assert_eq!(run(5i16, 5, 1).unwrap().len(), 0);
        assert_eq!(run(5i16, 1, 1).unwrap().len(), 0);
        let h = |v: f32| edgeopt_tensor::f16::from_f32(v);
        assert_eq!(run(h(1.), h(5.), h(2.)).unwrap().shape(), &[2]);
    }

    #[test]
    fn zero_delta_or_huge_counts_are_errors() {
        assert!(run(0i64, 5, 0).is_err());
        assert!(run(0f32, 5., 0.).is_err());
        assert!(run(0i64, i64::MAX, 1).is_err());
    }

    #[test]
    fn infers_length_from_constants() {
        let args = [
            Some(Tensor::scalar(0i64)),
            Some(Tensor::scalar(10i64)),
            Some(Tensor::scalar(3i64)),
        ];
        assert_eq!(
            infer(&Range { stash_type: None }, &args, 1).unwrap()[0],
            ValueType::known(DType::I64, &[4])
        );
    }
}
