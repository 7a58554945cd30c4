//! ConstantOfShape: <https://onnx.ai/onnx/operators/onnx__ConstantOfShape.html>
//!
//! Input `input`: 1-D int64 shape (empty = scalar output). Attribute `value`: a one-element
//! tensor giving the fill value and output dtype (default float32 0). Output: the filled tensor.
//! Opset differences: v9 numeric and bool; v20 adds bfloat16 and 8-bit floats; v21/v23 add
//! 4-bit types. The shape is read with `ctx.konst` at inference time so the output is static.

use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::array::common::{dim_of, full, konst_ints, tensor_type, unknown_dims, vec_len};
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, Value, ValueType};
use edgeopt_tensor::{Dim, Tensor};

#[derive(Clone, Debug)]
pub struct ConstantOfShape {
    /// The fill value as given, `None` when the attribute was absent (float32 zero).
    pub value: Option<Tensor>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let value = ctx.attrs.tensor("value")?;
    if let Some(v) = &value {
        if v.len() != 1 {
            bail!(
                "ConstantOfShape: attribute 'value' must hold one element, got shape {:?}",
                v.shape()
            );
        }
    }
    Ok(Box::new(ConstantOfShape { value }))
}

impl ConstantOfShape {
    fn fill(&self) -> Tensor {
        self.value.clone().unwrap_or_else(|| Tensor::scalar(0f32))
    }
}

impl Op for ConstantOfShape {
    fn op_type(&self) -> &str {
        "ConstantOfShape"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let dtype = Some(self.fill().dtype());
        let shape = match konst_ints(ctx, 0) {
            Some(s) => {
                let dims = s
                    .iter()
                    .map(|&d| dim_of("ConstantOfShape", "input 'input'", d).map(Dim::Known));
                Some(dims.collect::<Result<Vec<_>>>()?)
            }
            None => vec_len(ctx, 0).map(unknown_dims),
        };
        Ok(vec![tensor_type(dtype, shape)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let s = inputs.tensor(0)?;
        if s.rank() > 1 {
            bail!(
                "ConstantOfShape: input 'input' must be 1-D, got shape {:?}",
                s.shape()
            );
        }
        let shape: Vec<usize> = s
            .to_i64_vec()?
            .into_iter()
            .map(|d| dim_of("ConstantOfShape", "input 'input'", d))
            .collect::<Result<_>>()?;
        Ok(vec![full(&self.fill(), 0, shape)?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.movement()
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let mut a = AttrList::default();
        if let Some(v) = &self.value {
            a = a.tensor("value", v);
        }
        a.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{eval1, infer};
    use edgeopt_tensor::DType;

    #[test]
    fn fills_with_value_or_float_zero() {
        let op = ConstantOfShape {
            value: Some(Tensor::vec1(vec![7i32])),
        };
        let y = eval1(&op, &[Some(Tensor::vec1(vec![2i64, 3]))]).unwrap();
        assert_eq!(y.shape(), &[2, 3]);
        assert_eq!(y.as_slice::<i32>().unwrap(), &[7; 6]);
        let y = eval1(
            &ConstantOfShape { value: None },
            &[Some(Tensor::vec1(vec![0i64]))],
        )
        .unwrap();
        assert_eq!((y.dtype(), y.shape()), (DType::F32, &[0][..]));
        let y = eval1(
            &ConstantOfShape { value: None },
            &[Some(Tensor::vec1(Vec::<i64>::new()))],
        )
        .unwrap();
        assert_eq!(y.shape(), &[] as &[usize]);
    }

    #[test]
    fn infers_static_shape_from_constant_input() {
        let op = ConstantOfShape {
            value: Some(Tensor::vec1(vec![true])),
        };
        let t = infer(&op, &[Some(Tensor::vec1(vec![4i64, 1]))], 1).unwrap();
        assert_eq!(t[0], ValueType::known(DType::Bool, &[4, 1]));
    }

    #[test]
    fn negative_or_huge_shapes_are_errors() {
        let op = ConstantOfShape { value: None };
        assert!(eval1(&op, &[Some(Tensor::vec1(vec![-1i64]))]).is_err());
        assert!(eval1(&op, &[Some(Tensor::vec1(vec![1i64 << 40, 1 << 40]))]).is_err());
    }
}
