//! Flatten: <https://onnx.ai/onnx/operators/onnx__Flatten.html>
//!
//! Input `input` (any type); output `output`: 2-D, `[prod(dims[..axis]), prod(dims[axis..])]`.
//! Attribute `axis` (default 1), in `0..=rank`; negative values (v11+) count from the back.
//! Opset differences: v1 floats only; v9 all types; v11 negative axis; later only dtypes.

use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::array::common::{sym_product, tensor_type};
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, Value, ValueType};

#[derive(Clone, Debug)]
pub struct Flatten {
    pub axis: i64,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(Flatten {
        axis: ctx.attrs.int_or("axis", 1)?,
    }))
}

impl Flatten {
    /// The split point for rank `r` (the axis may equal `r`).
    fn split(&self, r: usize) -> Result<usize> {
        let a = if self.axis < 0 {
            self.axis + r as i64
        } else {
            self.axis
        };
        if a < 0 || a > r as i64 {
            bail!(
                "Flatten: axis {} is out of range for rank {r} (valid: {}..={r})",
                self.axis,
                -(r as i64)
            );
        }
        Ok(a as usize)
    }
}

impl Op for Flatten {
    fn op_type(&self) -> &str {
        "Flatten"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let shape = match &x.shape {
            Some(s) => {
                let k = self.split(s.len())?;
                vec![sym_product(&s[..k]), sym_product(&s[k..])]
            }
            None => crate::ops::array::common::unknown_dims(2),
        };
        Ok(vec![tensor_type(x.dtype, Some(shape))])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let k = self.split(x.rank())?;
        let (a, b) = (
            x.shape()[..k].iter().product(),
            x.shape()[k..].iter().product(),
        );
        Ok(vec![x.reshape(vec![a, b])?.into()])
    }

    fn cost(&self, _ctx: &CostCtx) -> Cost {
        Cost::default()
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default().int("axis", self.axis).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;
    use edgeopt_tensor::{DType, Dim, Tensor};

    fn run(axis: i64) -> Result<Vec<usize>> {
        let x = Tensor::zeros(DType::F32, vec![2, 3, 4, 5])?;
        Ok(eval1(&Flatten { axis }, &[Some(x)])?.shape().to_vec())
    }

    #[test]
    fn axes_from_the_backend_tests() {
        assert_eq!(run(0).unwrap(), vec![1, 120]);
        assert_eq!(run(1).unwrap(), vec![2, 60]);
        assert_eq!(run(4).unwrap(), vec![120, 1]);
        assert_eq!(run(-1).unwrap(), vec![24, 5]);
        assert_eq!(run(-4).unwrap(), vec![1, 120]);
        assert!(run(5).is_err());
        assert!(run(-5).is_err());
    }

    #[test]
    fn symbolic_batch_survives() {
        let ty = vec![ValueType::tensor(
            DType::F32,
            vec![Dim::Sym("N".into()), 3.into(), 4.into()],
        )];
        let ctx = InferCtx {
            opset: 13,
            inputs: &ty,
            consts: &[None],
            num_outputs: 1,
        };
        let t = Flatten { axis: 1 }.infer(&ctx).unwrap();
        assert_eq!(
            t[0],
            ValueType::tensor(DType::F32, vec![Dim::Sym("N".into()), 12.into()])
        );
    }
}
