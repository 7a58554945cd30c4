//! CastLike: casts `input` to the dtype of `target_type` (whose values are ignored).
//! Spec: <https://onnx.ai/onnx/operators/onnx__CastLike.html>
//!
//! Attributes: `saturate` (opset 19+, default 1), `round_mode` (opset 24+, default "up"), with
//! Cast's meaning. Inputs: `input`, `target_type`. Output: `output`, shaped like `input`.
//! Opsets 15, 19, 21, 23, 24, 25 differ only in those attributes and the type list.

use super::cast::{export_opts, opts_of, parse_opts};
use super::convert::RoundMode;
use super::kernel::cast_tensor;
use crate::attr::{AttrList, Attribute};
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{Result, TensorType, Value, ValueType};

#[derive(Clone, Debug)]
pub struct CastLike {
    pub saturate: Option<i64>,
    pub round_mode: Option<RoundMode>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let (saturate, round_mode) = parse_opts(ctx, "CastLike")?;
    Ok(Box::new(CastLike {
        saturate,
        round_mode,
    }))
}

impl Op for CastLike {
    fn op_type(&self) -> &str {
        "CastLike"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let (x, like) = (ctx.tensor(0), ctx.tensor(1));
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: like.dtype,
            shape: x.shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (x, like) = (inputs.tensor(0)?, inputs.tensor(1)?);
        Ok(vec![cast_tensor(
            x,
            like.dtype(),
            opts_of(self.saturate, self.round_mode),
        )?
        .into()])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        export_opts(AttrList::default(), self.saturate, self.round_mode).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{eval1, infer};
    use edgeopt_tensor::{DType, Tensor};

    #[test]
    fn takes_the_dtype_of_the_second_input() {
        let op = CastLike {
            saturate: None,
            round_mode: None,
        };
        let x = Tensor::vec1(vec![1.5f32, -2.0]);
        let like = Tensor::vec1(vec![0i8; 5]);
        let y = eval1(&op, &[Some(x.clone()), Some(like.clone())]).unwrap();
        assert_eq!(y.as_slice::<i8>().unwrap(), &[1, -2]);
        assert_eq!(
            infer(&op, &[Some(x), Some(like)], 1).unwrap()[0],
            ValueType::known(DType::I8, &[2])
        );
        assert!(op.attributes().is_empty());
    }
}
