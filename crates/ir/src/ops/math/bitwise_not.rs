//! BitwiseNot: flips every bit of an integer tensor.
//! Spec: <https://onnx.ai/onnx/operators/onnx__BitwiseNot.html>. Since opset 18.
//! Input X: any integer type T; output Y: T, same shape. No attributes.

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::util::same_as;
use crate::registry::BuildCtx;
use crate::{dispatch_int, Result, Value, ValueType};
use edgeopt_tensor::{Elem, Tensor};

#[derive(Clone, Debug)]
pub struct BitwiseNot;

pub fn build(_ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(BitwiseNot))
}

fn flip<T: Elem + bytemuck::NoUninit + std::ops::Not<Output = T>>(x: &Tensor) -> Result<Tensor> {
    let y: Vec<T> = x.as_slice::<T>()?.iter().map(|&v| !v).collect();
    Ok(Tensor::from_vec(x.shape().to_vec(), y)?)
}

impl Op for BitwiseNot {
    fn op_type(&self) -> &str {
        "BitwiseNot"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![same_as(ctx.inputs, 0)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let y = dispatch_int!(x.dtype(), T => flip::<T>(x)?);
        Ok(vec![y.into()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    #[test]
    fn flips_bits() {
        let y = eval1(&BitwiseNot, &[Some(Tensor::vec1(vec![0u8, 0x0f]))]).unwrap();
        assert_eq!(y.to_vec::<u8>().unwrap(), [0xff, 0xf0]);
        let y = eval1(&BitwiseNot, &[Some(Tensor::vec1(vec![0i32, -1, 5]))]).unwrap();
        assert_eq!(y.to_vec::<i32>().unwrap(), [-1, 0, -6]);
        assert!(eval1(&BitwiseNot, &[Some(Tensor::vec1(vec![1f32]))]).is_err());
    }
}
