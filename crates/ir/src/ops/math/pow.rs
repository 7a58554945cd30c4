//! Pow: `Z = X ^ Y`, broadcast, with independent base and exponent dtypes.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Pow.html>.
//!
//! Inputs X (base, type T), Y (exponent, type T1); output Z: T.
//! Opset differences: before 7, `broadcast`/`axis` attributes ([`LegacyBroadcast`]); 7..11
//! require T1 = T (floats); 12 allows i32/i64 bases and any numeric exponent; 13/15 add bf16.
//! Integer base with integer exponent is exact wrapping integer arithmetic (numpy); any float
//! involvement computes in floating point and casts back to T, truncating for integer T (NaN
//! and out-of-range results give T's minimum, as numpy and ONNX Runtime do).

use super::common::{map2, zip2, LegacyBroadcast, Scalar};
use crate::attr::{AttrList, Attribute};
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::util::infer_broadcast;
use crate::registry::BuildCtx;
use crate::{dispatch_num, Result, Value, ValueType};
use edgeopt_tensor::{DType, Tensor};

#[derive(Clone, Debug, Default)]
pub struct Pow {
    pub legacy: LegacyBroadcast,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(Pow {
        legacy: LegacyBroadcast::parse(ctx)?,
    }))
}

/// `b^e` by squaring, wrapping; negative exponents truncate `1 / b^|e|` toward zero.
fn ipow(b: i64, e: i64) -> i64 {
    if e < 0 {
        return match b {
            1 => 1,
            -1 => {
                if e % 2 == 0 {
                    1
                } else {
                    -1
                }
            }
            _ => 0,
        };
    }
    let (mut acc, mut base, mut e) = (1i64, b, e as u64);
    while e > 0 {
        if e & 1 == 1 {
            acc = acc.wrapping_mul(base);
        }
        base = base.wrapping_mul(base);
        e >>= 1;
    }
    acc
}

/// A float result cast to T. For integer T, NaN and out-of-range values become T's minimum, as
/// numpy and ONNX Runtime produce (the x86 conversion), rather than saturating.
fn float_to<T: Scalar>(r: f64) -> T {
    if T::IS_FLOAT {
        return T::from_f64(r);
    }
    let t = T::from_f64(r);
    if r.is_nan() || t.as_f64() != r.trunc() {
        T::from_f64(f64::NEG_INFINITY)
    } else {
        t
    }
}

fn pow<T: Scalar>(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    if x.dtype() == DType::F32 && y.dtype() == DType::F32 {
        return map2(x, y, |b: f32, e: f32| b.powf(e));
    }
    let xs = x.as_slice::<T>()?;
    let (shape, z) = if !T::IS_FLOAT && y.dtype().is_int() {
        let e = y.to_i64_vec()?;
        zip2(xs, x.shape(), &e, y.shape(), |&b, &e| {
            T::from_i64_wrapping(ipow(b.to_i64_wrapping(), e))
        })?
    } else {
        let e = y.to_f64_vec()?;
        zip2(xs, x.shape(), &e, y.shape(), |&b, &e| {
            float_to::<T>(b.as_f64().powf(e))
        })?
    };
    Ok(Tensor::from_vec(shape, z)?)
}

impl Op for Pow {
    fn op_type(&self) -> &str {
        "Pow"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let y = self.legacy.align_type(ctx.input(0), ctx.input(1))?;
        Ok(vec![infer_broadcast(&[ctx.input(0).clone(), y], None)?])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let y = self.legacy.align(x, inputs.tensor(1)?)?;
        let z = dispatch_num!(x.dtype(), T => pow::<T>(x, &y)?);
        Ok(vec![z.into()])
    }

    fn cost(&self, ctx: &crate::op::CostCtx) -> crate::op::Cost {
        // pow is exp(y * ln x): a handful of operations per element.
        ctx.elementwise(4)
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        self.legacy.export(AttrList::default()).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    fn run(x: Tensor, y: Tensor) -> Tensor {
        eval1(&Pow::default(), &[Some(x), Some(y)]).unwrap()
    }

    #[test]
    fn float_pow_broadcasts() {
        // test_pow_example: [1,2,3] ^ [4,5,6] = [1, 32, 729]; test_pow_bcast_scalar: ^2.
        let y = run(
            Tensor::vec1(vec![1f32, 2., 3.]),
            Tensor::vec1(vec![4f32, 5., 6.]),
        );
        assert_eq!(y.to_vec::<f32>().unwrap(), [1., 32., 729.]);
        let y = run(Tensor::vec1(vec![1f64, 2., 3.]), Tensor::scalar(2f64));
        assert_eq!(y.to_vec::<f64>().unwrap(), [1., 4., 9.]);
    }

    #[test]
    fn mixed_types_keep_base_type() {
        // test_pow_types_int32_float32 and test_pow_types_float32_int64.
        let y = run(
            Tensor::vec1(vec![1i32, 2, 3]),
            Tensor::vec1(vec![4f32, 5., 6.]),
        );
        assert_eq!(y.to_vec::<i32>().unwrap(), [1, 32, 729]);
        let y = run(
            Tensor::vec1(vec![1f32, 2., 3.]),
            Tensor::vec1(vec![4i64, 5, 6]),
        );
        assert_eq!(y.to_vec::<f32>().unwrap(), [1., 32., 729.]);
        let y = run(
            Tensor::vec1(vec![3i64, 2, -2]),
            Tensor::vec1(vec![40i64, -1, 3]),
        );
        assert_eq!(y.to_vec::<i64>().unwrap(), [3i64.wrapping_pow(40), 0, -8]);
        // Negative base to a fractional power, and overflow: i32::MIN like numpy and ORT.
        let y = run(
            Tensor::vec1(vec![-2i32, 3, 7]),
            Tensor::vec1(vec![0.5f32, 40., 1.5]),
        );
        assert_eq!(y.to_vec::<i32>().unwrap(), [i32::MIN, i32::MIN, 18]);
        let y = run(Tensor::vec1(vec![2f32]), Tensor::vec1(vec![0.5f64]));
        assert!((y.to_vec::<f32>().unwrap()[0] - std::f32::consts::SQRT_2).abs() < 1e-6);
    }
}
