//! SequenceMap: applies a subgraph to each element of a sequence.
//! Spec: <https://onnx.ai/onnx/operators/onnx__SequenceMap.html>
//!
//! Attributes: `body` (graph with as many inputs as the node; one output per node output).
//! Inputs: `input_sequence`, then `additional_inputs`: sequences (of the same length, read
//! element-wise) or tensors (passed unchanged to every iteration). Outputs: one sequence per body
//! output, collecting that output over the iterations. Opset 17 only.

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::control::common::body_output_types;
use crate::ops::sequence::common::elem_type;
use crate::registry::BuildCtx;
use crate::{bail, AttrList, Attribute, Graph, Result, Value, ValueType};

#[derive(Clone, Debug)]
pub struct SequenceMap {
    pub body: Graph,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let body = ctx.attrs.req_graph("body")?;
    if body.inputs.len() != ctx.num_inputs || body.outputs.len() != ctx.num_outputs {
        bail!(
            "SequenceMap: body has {} inputs and {} outputs, the node {} and {}",
            body.inputs.len(),
            body.outputs.len(),
            ctx.num_inputs,
            ctx.num_outputs
        );
    }
    Ok(Box::new(SequenceMap { body }))
}

impl Op for SequenceMap {
    fn op_type(&self) -> &str {
        "SequenceMap"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let ins: Vec<ValueType> = ctx
            .inputs
            .iter()
            .enumerate()
            .map(|(i, t)| match t {
                ValueType::Sequence(_) => elem_type(t),
                _ if i == 0 => ValueType::Unknown,
                t => t.clone(),
            })
            .collect();
        let outs = body_output_types(&self.body, &ins, ctx.opset);
        Ok(outs
            .into_iter()
            .map(|t| ValueType::Sequence(Box::new(t)))
            .collect())
    }

    fn eval(&self, ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let n = match inputs.value(0) {
            Some(Value::Sequence(s)) => s.len(),
            Some(v) => bail!(
                "SequenceMap: input 0 should be a sequence, got a {}",
                v.kind()
            ),
            None => bail!("SequenceMap: the input sequence is missing"),
        };
        for i in 1..inputs.len() {
            match inputs.value(i) {
                Some(Value::Sequence(s)) if s.len() != n => {
                    bail!(
                        "SequenceMap: input {i} holds {} tensors, input 0 holds {n}",
                        s.len()
                    )
                }
                Some(Value::Sequence(_)) | Some(Value::Tensor(_)) => {}
                Some(v) => bail!(
                    "SequenceMap: input {i} should be a sequence or tensor, got a {}",
                    v.kind()
                ),
                None => bail!("SequenceMap: input {i} is missing"),
            }
        }
        let mut outs: Vec<Vec<_>> = vec![Vec::with_capacity(n); self.body.outputs.len()];
        for k in 0..n {
            let args: Vec<Value> = (0..inputs.len())
                .filter_map(|i| inputs.value(i))
                .map(|v| match v {
                    Value::Sequence(s) => Value::Tensor(s[k].clone()),
                    v => v.clone(),
                })
                .collect();
            for (slot, v) in outs.iter_mut().zip(ctx.run_subgraph(&self.body, args)?) {
                match v {
                    Value::Tensor(t) => slot.push(t),
                    v => bail!(
                        "SequenceMap: the body must produce tensors, got a {}",
                        v.kind()
                    ),
                }
            }
        }
        Ok(outs.into_iter().map(Value::Sequence).collect())
    }

    fn cost(&self, _ctx: &crate::CostCtx) -> crate::Cost {
        crate::Cost::default()
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default().graph("body", &self.body).build()
    }

    fn subgraphs(&self) -> Vec<&Graph> {
        vec![&self.body]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::control::common::testing::{graph, TestAdd};
    use crate::ops::sequence::common::testing::{eval_values, f32s, seq};
    use edgeopt_tensor::{DType, Tensor};

    fn op() -> SequenceMap {
        let f = ValueType::dtype_only(DType::F32);
        let body = graph(
            "b",
            &[("a", f.clone()), ("b", f)],
            vec![(Box::new(TestAdd), &["a", "b"], &["c"])],
            &["c"],
        );
        SequenceMap { body }
    }

    #[test]
    fn maps_sequence_with_sequence_or_tensor() {
        let s = Value::Sequence(vec![Tensor::vec1(vec![1f32, 2.]), Tensor::vec1(vec![3f32])]);
        let out = eval_values(&op(), vec![Some(s.clone()), Some(s.clone())], 1, 17).unwrap();
        let r = seq(out[0].clone());
        assert_eq!((f32s(&r[0]), f32s(&r[1])), (vec![2., 4.], vec![6.]));
        let t = Value::Tensor(Tensor::scalar(10f32));
        let out = eval_values(&op(), vec![Some(s.clone()), Some(t)], 1, 17).unwrap();
        assert_eq!(f32s(&seq(out[0].clone())[1]), vec![13.]);
        let short = Value::Sequence(vec![Tensor::scalar(1f32)]);
        assert!(eval_values(&op(), vec![Some(s), Some(short)], 1, 17).is_err());
    }

    #[test]
    fn infers_sequence_of_body_output() {
        let s = ValueType::Sequence(Box::new(ValueType::known(DType::F32, &[3])));
        let ctx = InferCtx {
            opset: 17,
            inputs: &[s.clone(), s],
            consts: &[],
            num_outputs: 1,
        };
        let t = op().infer(&ctx).unwrap();
        assert_eq!(
            t[0],
            ValueType::Sequence(Box::new(ValueType::known(DType::F32, &[3])))
        );
    }
}
