//! PRelu: `y = x` for `x >= 0`, else `slope * x`, with `slope` broadcast to X's shape.
//! Spec: <https://onnx.ai/onnx/operators/onnx__PRelu.html>.
//!
//! Inputs X (type T), slope (type T); output Y: T, shape of X.
//! Opset differences: 1 had `consumed_inputs`; 7 makes slope unidirectionally broadcastable;
//! 9 adds i32/i64/u32/u64; 16 adds bf16. Like the ONNX reference, a 1-D slope that does not
//! broadcast numpy-style is also accepted when exactly one axis of X has its length (the
//! per-channel slope of old exporters).

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::math::common::{common_dtype, map2, Scalar};
use crate::ops::util::same_as;
use crate::registry::BuildCtx;
use crate::{bail, dispatch_num, Result, Value, ValueType};
use edgeopt_tensor::shape::broadcast_shapes;
use edgeopt_tensor::Tensor;

#[derive(Clone, Debug)]
pub struct PRelu;

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    super::common::skip_consumed_inputs(ctx)?;
    Ok(Box::new(PRelu))
}

/// The slope reshaped so it broadcasts onto `x` (see the module doc for the 1-D fallback).
fn align_slope(x: &[usize], slope: &Tensor) -> Result<Tensor> {
    if broadcast_shapes(x, slope.shape()).is_ok_and(|s| s == x) {
        return Ok(slope.clone());
    }
    if let [c] = slope.shape() {
        let hits: Vec<usize> = (0..x.len()).filter(|&a| x[a] == *c).collect();
        if let [a] = hits[..] {
            let mut s = vec![1; x.len() - a];
            s[0] = *c;
            return Ok(slope.reshape(s)?);
        }
    }
    bail!(
        "PRelu: slope of shape {:?} does not broadcast to X of shape {x:?}",
        slope.shape()
    )
}

fn prelu<T: Scalar>(x: &Tensor, slope: &Tensor) -> Result<Tensor> {
    let zero = T::default();
    map2(x, slope, |v: T, s: T| if v < zero { v.mul(s) } else { v })
}

impl Op for PRelu {
    fn op_type(&self) -> &str {
        "PRelu"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        common_dtype("PRelu", &[ctx.input(0), ctx.input(1)])?;
        Ok(vec![same_as(ctx.inputs, 0)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (x, slope) = (inputs.tensor(0)?, inputs.tensor(1)?);
        if x.dtype() != slope.dtype() {
            bail!(
                "PRelu: X and slope must share a dtype, got {} and {}",
                x.dtype(),
                slope.dtype()
            );
        }
        let slope = align_slope(x.shape(), slope)?;
        let y = dispatch_num!(x.dtype(), T => prelu::<T>(x, &slope)?);
        Ok(vec![y.into()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    #[test]
    fn broadcast_slope() {
        // test_prelu_broadcast: slope [5] over X [3, 4, 5]; here a [2, 3] example.
        let x = Tensor::from_vec(vec![2, 3], vec![-1f32, 2., -3., 4., -5., 6.]).unwrap();
        let y = eval1(&PRelu, &[Some(x), Some(Tensor::vec1(vec![0.5f32, 1., 2.]))]).unwrap();
        assert_eq!(y.to_vec::<f32>().unwrap(), [-0.5, 2., -6., 4., -5., 6.]);
        let y = eval1(
            &PRelu,
            &[
                Some(Tensor::vec1(vec![-4i32, 4])),
                Some(Tensor::scalar(3i32)),
            ],
        )
        .unwrap();
        assert_eq!(y.to_vec::<i32>().unwrap(), [-12, 4]);
    }

    #[test]
    fn per_channel_fallback_and_errors() {
        // NCHW with a [C] slope: C = 2 matches only axis 1.
        let x = Tensor::from_vec(vec![1, 2, 1, 3], vec![-1f32; 6]).unwrap();
        let y = eval1(
            &PRelu,
            &[Some(x.clone()), Some(Tensor::vec1(vec![0.1f32, 0.2]))],
        )
        .unwrap();
        assert_eq!(y.shape(), &[1, 2, 1, 3]);
        assert_eq!(
            y.to_vec::<f32>().unwrap(),
            [-0.1, -0.1, -0.1, -0.2, -0.2, -0.2]
        );
        assert!(eval1(&PRelu, &[Some(x), Some(Tensor::vec1(vec![0.1f32; 4]))]).is_err());
        // Slope may not grow X.
        let y = eval1(
            &PRelu,
            &[
                Some(Tensor::vec1(vec![1f32])),
                Some(Tensor::vec1(vec![0.1f32; 2])),
            ],
        );
        assert!(y.is_err());
    }
}
