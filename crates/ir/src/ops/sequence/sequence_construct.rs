//! SequenceConstruct: a sequence holding the input tensors, in order.
//! Spec: <https://onnx.ai/onnx/operators/onnx__SequenceConstruct.html>
//!
//! Inputs: 1 or more tensors of one element type (variadic). Output: the sequence.
//! No attributes. Opset 11 only.

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::sequence::common::unify;
use crate::registry::BuildCtx;
use crate::{bail, Result, Value, ValueType};

#[derive(Clone, Debug)]
pub struct SequenceConstruct;

pub fn build(_ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(SequenceConstruct))
}

impl Op for SequenceConstruct {
    fn op_type(&self) -> &str {
        "SequenceConstruct"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let mut elem = ctx.input(0).clone();
        for t in ctx.inputs.iter().skip(1) {
            if let (Some(a), Some(b)) = (elem.dtype(), t.dtype()) {
                if a != b {
                    bail!("SequenceConstruct: inputs mix element types {a} and {b}");
                }
            }
            elem = unify(&elem, t);
        }
        Ok(vec![ValueType::Sequence(Box::new(elem))])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let ts = (0..inputs.len())
            .map(|i| inputs.tensor(i).cloned())
            .collect::<Result<Vec<_>>>()?;
        if let Some(t) = ts.iter().find(|t| t.dtype() != ts[0].dtype()) {
            bail!(
                "SequenceConstruct: inputs mix element types {} and {}",
                ts[0].dtype(),
                t.dtype()
            );
        }
        Ok(vec![Value::Sequence(ts)])
    }

    fn cost(&self, ctx: &crate::CostCtx) -> crate::Cost {
        ctx.movement()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::sequence::common::testing::{eval_values, seq};
    use edgeopt_tensor::Tensor;

    #[test]
    fn builds_in_order_and_checks_dtypes() {
        let a = Value::Tensor(Tensor::vec1(vec![1f32]));
        let b = Value::Tensor(Tensor::vec1(vec![2f32, 3.]));
        let out = eval_values(&SequenceConstruct, vec![Some(a.clone()), Some(b)], 1, 11).unwrap();
        let s = seq(out[0].clone());
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].shape(), &[2]);
        let c = Value::Tensor(Tensor::vec1(vec![1i64]));
        assert!(eval_values(&SequenceConstruct, vec![Some(a), Some(c)], 1, 11).is_err());
    }
}
