//! SequenceEmpty: an empty sequence of tensors of a given element type.
//! Spec: <https://onnx.ai/onnx/operators/onnx__SequenceEmpty.html>
//!
//! Attributes: `dtype` (ONNX data type code, default float). No inputs; one output, the empty
//! sequence. Opset 11 only (unchanged since).

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, AttrList, Attribute, Result, Value, ValueType};
use edgeopt_tensor::DType;

#[derive(Clone, Debug)]
pub struct SequenceEmpty {
    /// Element type; `None` when the attribute was absent (float).
    pub dtype: Option<DType>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let dtype = match ctx.attrs.int("dtype")? {
        None => None,
        Some(code) => match i32::try_from(code).ok().and_then(DType::from_onnx_code) {
            Some(d) => Some(d),
            None => bail!("SequenceEmpty: attribute dtype {code} is not a supported data type"),
        },
    };
    Ok(Box::new(SequenceEmpty { dtype }))
}

impl Op for SequenceEmpty {
    fn op_type(&self) -> &str {
        "SequenceEmpty"
    }

    fn infer(&self, _ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let d = self.dtype.unwrap_or(DType::F32);
        Ok(vec![ValueType::Sequence(Box::new(ValueType::dtype_only(
            d,
        )))])
    }

    fn eval(&self, _ctx: &EvalCtx, _inputs: &Inputs) -> Result<Vec<Value>> {
        Ok(vec![Value::Sequence(Vec::new())])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .opt_int("dtype", self.dtype.map(|d| d.onnx_code() as i64))
            .build()
    }

    fn cost(&self, _ctx: &crate::CostCtx) -> crate::Cost {
        crate::Cost::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::sequence::common::testing::{eval_values, seq};

    #[test]
    fn empty_sequence_of_declared_type() {
        let op = SequenceEmpty {
            dtype: Some(DType::I64),
        };
        let out = eval_values(&op, vec![], 1, 11).unwrap();
        assert!(seq(out[0].clone()).is_empty());
        let ctx = InferCtx {
            opset: 11,
            inputs: &[],
            consts: &[],
            num_outputs: 1,
        };
        assert_eq!(
            op.infer(&ctx).unwrap()[0],
            ValueType::Sequence(Box::new(ValueType::dtype_only(DType::I64)))
        );
    }
}
