//! Size: <https://onnx.ai/onnx/operators/onnx__Size.html>
//!
//! Input `data` (any type); output `size`: int64 scalar, the number of elements. No attributes.
//! Opset differences: none beyond added dtypes (v1, v13, v19, v21, v23).
//! `fold_static` yields the value whenever the input shape is fully known.

use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, Value, ValueType};
use edgeopt_tensor::{DType, Tensor};

#[derive(Clone, Debug)]
pub struct Size;

pub fn build(_ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(Size))
}

impl Op for Size {
    fn op_type(&self) -> &str {
        "Size"
    }

    fn infer(&self, _ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![ValueType::known(DType::I64, &[])])
    }

    fn fold_static(&self, ctx: &InferCtx) -> Option<Vec<Tensor>> {
        let s = ctx.tensor(0).concrete_shape()?;
        Some(vec![Tensor::scalar(s.iter().product::<usize>() as i64)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let n = match inputs.value(0) {
            Some(Value::Tensor(t)) => t.len(),
            Some(v) => bail!("Size: input 'data' must be a tensor, got a {}", v.kind()),
            None => bail!("Size: required input 'data' is missing"),
        };
        Ok(vec![Tensor::scalar(n as i64).into()])
    }

    fn cost(&self, _ctx: &CostCtx) -> Cost {
        Cost {
            bytes_written: 8,
            ..Cost::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{eval1, infer};

    #[test]
    fn counts_elements() {
        let x = Tensor::zeros(DType::String, vec![2, 3]).unwrap();
        let y = eval1(&Size, &[Some(x.clone())]).unwrap();
        assert_eq!(
            (y.shape(), y.as_slice::<i64>().unwrap()),
            (&[][..], &[6i64][..])
        );
        assert_eq!(
            infer(&Size, &[Some(x)], 1).unwrap()[0],
            ValueType::known(DType::I64, &[])
        );
    }

    #[test]
    fn folds_static_shapes() {
        let ty = vec![ValueType::known(DType::F32, &[3, 0])];
        let ctx = InferCtx {
            opset: 13,
            inputs: &ty,
            consts: &[None],
            num_outputs: 1,
        };
        assert_eq!(
            Size.fold_static(&ctx).unwrap()[0].to_vec::<i64>().unwrap(),
            vec![0]
        );
    }
}
