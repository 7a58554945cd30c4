//! Optional: wraps a value (tensor or sequence) in an optional, or makes an empty optional.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Optional.html>
//!
//! Attributes: `type` (the element type; needed when there is no input). Input: optional
//! `input`. Output: the optional. Opset 15 only.

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, Value, ValueType};

#[derive(Clone, Debug)]
pub struct Optional {
    /// The `type` attribute, when given.
    pub elem: Option<ValueType>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let elem = match ctx.attrs.take("type") {
        None => None,
        Some(Attribute::Type(t)) => Some(t),
        Some(a) => bail!(
            "Optional: attribute 'type' should be a type, found {}",
            a.kind()
        ),
    };
    Ok(Box::new(Optional { elem }))
}

impl Op for Optional {
    fn op_type(&self) -> &str {
        "Optional"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let inner = match (ctx.input(0), &self.elem) {
            (ValueType::Unknown, Some(t)) => t.clone(),
            (t, _) => t.clone(),
        };
        Ok(vec![ValueType::Optional(Box::new(inner))])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        match inputs.value(0) {
            Some(Value::Optional(_)) => {
                bail!("Optional: the input must be a tensor or a sequence, not an optional")
            }
            Some(v) => Ok(vec![Value::Optional(Some(Box::new(v.clone())))]),
            None if self.elem.is_some() => Ok(vec![Value::Optional(None)]),
            None => bail!("Optional: without an input the 'type' attribute is required"),
        }
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        self.elem
            .iter()
            .map(|t| ("type".to_string(), Attribute::Type(t.clone())))
            .collect()
    }

    fn cost(&self, _ctx: &crate::CostCtx) -> crate::Cost {
        crate::Cost::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::sequence::common::testing::eval_values;
    use edgeopt_tensor::{DType, Tensor};

    #[test]
    fn wraps_or_is_empty() {
        let op = Optional {
            elem: Some(ValueType::dtype_only(DType::F32)),
        };
        let out = eval_values(&op, vec![None], 1, 15).unwrap();
        assert!(matches!(out[0], Value::Optional(None)));
        let out = eval_values(&op, vec![Some(Value::Tensor(Tensor::scalar(1f32)))], 1, 15).unwrap();
        assert!(matches!(&out[0], Value::Optional(Some(v)) if matches!(**v, Value::Tensor(_))));
        assert!(eval_values(&Optional { elem: None }, vec![None], 1, 15).is_err());
    }
}
