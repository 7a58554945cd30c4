//! Loop: runs a subgraph repeatedly, carrying values between iterations and collecting
//! per-iteration scan outputs.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Loop.html>
//!
//! Attributes: `body`, a graph with inputs (iteration_num: int64 scalar, cond: bool scalar,
//! N loop-carried values) and outputs (cond, N loop-carried values, K scan outputs).
//! Inputs: optional `M` (int64 trip count), optional `cond` (bool), N initial loop-carried
//! values. Outputs: the N final loop-carried values, then the K scan outputs, each the
//! per-iteration tensors stacked along a new first axis.
//! Without `cond` the body's cond output is ignored (a for loop); without `M` the loop runs while
//! cond holds. Opsets 1, 11, 13 (loop-carried sequences), 16 (optionals), 19, 21, 23, 24, 25
//! (wider element types only).

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::control::common::body_output_types;
use crate::ops::sequence::common::{scalar_bool, scalar_i64, stack, unify};
use crate::registry::BuildCtx;
use crate::{bail, AttrList, Attribute, Graph, Result, TensorType, Value, ValueType};
use edgeopt_tensor::{DType, Dim, Tensor};

#[derive(Clone, Debug)]
pub struct Loop {
    pub body: Graph,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let body = ctx.attrs.req_graph("body")?;
    let n = ctx.num_inputs.saturating_sub(2);
    if ctx.num_inputs < 2 || body.inputs.len() != n + 2 {
        bail!(
            "Loop: body takes {} inputs, expected 2 + {n} loop-carried values",
            body.inputs.len()
        );
    }
    if body.outputs.len() < n + 1 || ctx.num_outputs > body.outputs.len() - 1 {
        bail!(
            "Loop: body has {} outputs, expected cond + {n} loop-carried values + scan outputs for {} node outputs",
            body.outputs.len(),
            ctx.num_outputs
        );
    }
    Ok(Box::new(Loop { body }))
}

impl Loop {
    /// Number of loop-carried values.
    fn carried(&self) -> usize {
        self.body.inputs.len().saturating_sub(2)
    }

    /// The body's arity, re-checked because the struct may be built without `build`.
    fn check(&self) -> Result<usize> {
        let n = self.carried();
        if self.body.inputs.len() < 2 || self.body.outputs.len() < n + 1 {
            bail!(
                "Loop: body has {} inputs and {} outputs",
                self.body.inputs.len(),
                self.body.outputs.len()
            );
        }
        Ok(n)
    }
}

impl Op for Loop {
    fn op_type(&self) -> &str {
        "Loop"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let n = self.check()?;
        let mut ins = vec![
            ValueType::known(DType::I64, &[]),
            ValueType::known(DType::Bool, &[]),
        ];
        ins.extend((0..n).map(|i| ctx.input(2 + i).clone()));
        let outs = body_output_types(&self.body, &ins, ctx.opset);
        let mut res = Vec::with_capacity(outs.len() - 1);
        // A carried value may change shape between iterations: keep what input and body agree on.
        for i in 0..n {
            res.push(match ctx.input(2 + i) {
                ValueType::Unknown => outs[1 + i].clone(),
                t => unify(t, &outs[1 + i]),
            });
        }
        for t in &outs[1 + n..] {
            res.push(match t {
                ValueType::Tensor(t) => {
                    let shape = t
                        .shape
                        .as_ref()
                        .map(|s| [vec![Dim::Unknown], s.clone()].concat());
                    ValueType::Tensor(TensorType {
                        dtype: t.dtype,
                        shape,
                    })
                }
                _ => ValueType::Unknown,
            });
        }
        res.truncate(ctx.num_outputs);
        Ok(res)
    }

    fn eval(&self, ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let n = self.check()?;
        let max = inputs
            .opt_tensor(0)?
            .map(|m| scalar_i64(m, "Loop: M"))
            .transpose()?;
        let mut cond = inputs
            .opt_tensor(1)?
            .map(|c| scalar_bool(c, "Loop: cond"))
            .transpose()?;
        let ignore_cond = cond.is_none();
        if max.is_none() && ignore_cond {
            bail!("Loop: neither M nor cond is given, so the loop would never end");
        }
        let mut state: Vec<Value> = (0..n)
            .map(|i| {
                inputs.value(2 + i).cloned().ok_or_else(|| {
                    crate::IrError::Op(format!("Loop: loop-carried input {} is missing", 2 + i))
                })
            })
            .collect::<Result<_>>()?;
        let k = self.body.outputs.len() - 1 - n;
        let mut scans: Vec<Vec<Tensor>> = vec![Vec::new(); k];
        let mut i: i64 = 0;
        while max.is_none_or(|m| i < m) && cond.unwrap_or(true) {
            let mut args = vec![
                Tensor::scalar(i).into(),
                Tensor::scalar(cond.unwrap_or(true)).into(),
            ];
            args.append(&mut state);
            let mut outs = ctx.run_subgraph(&self.body, args)?.into_iter();
            let c = outs
                .next()
                .ok_or_else(|| crate::IrError::Op("Loop: the body produced no outputs".into()))?;
            if !ignore_cond {
                match &c {
                    Value::Tensor(t) => cond = Some(scalar_bool(t, "Loop: body cond output")?),
                    v => bail!(
                        "Loop: the body's cond output should be a tensor, got a {}",
                        v.kind()
                    ),
                }
            }
            state = outs.by_ref().take(n).collect();
            for (slot, v) in scans.iter_mut().zip(outs) {
                match v {
                    Value::Tensor(t) => slot.push(t),
                    v => bail!("Loop: scan outputs must be tensors, got a {}", v.kind()),
                }
            }
            i += 1;
        }
        let mut res = state;
        for (j, ts) in scans.iter().enumerate() {
            res.push(Value::Tensor(if ts.is_empty() {
                self.empty_scan(ctx, inputs, 1 + n + j)?
            } else {
                stack(ts, 0)?
            }));
        }
        res.truncate(ctx.num_outputs);
        Ok(res)
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

impl Loop {
    /// The scan output of a loop that ran zero times: no rows, of the body's static output type.
    fn empty_scan(&self, ctx: &EvalCtx, inputs: &Inputs, out: usize) -> Result<Tensor> {
        let mut ins = vec![
            ValueType::known(DType::I64, &[]),
            ValueType::known(DType::Bool, &[]),
        ];
        ins.extend(
            (2..inputs.len()).map(|i| inputs.value(i).map(ValueType::of_value).unwrap_or_default()),
        );
        let ty = &body_output_types(&self.body, &ins, ctx.opset)[out];
        let dtype = ty.dtype().unwrap_or(DType::F32);
        let rest: Vec<usize> = ty
            .shape()
            .and_then(|s| edgeopt_tensor::shape::concrete(s))
            .unwrap_or_default();
        Ok(Tensor::zeros(dtype, [vec![0], rest].concat())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::run_scoped;
    use crate::ops::control::common::testing::{graph, TestAdd, TestIdentity, TestNode};
    use crate::ops::sequence::sequence_insert::SequenceInsert;

    /// y_out = y_in + x (x captured from outside); scan = y_out; cond passes through.
    fn body() -> Graph {
        let f = ValueType::known(DType::F32, &[1]);
        let ins = [
            ("i", ValueType::known(DType::I64, &[])),
            ("c", ValueType::known(DType::Bool, &[])),
            ("y", f),
        ];
        let nodes: Vec<TestNode> = vec![
            (Box::new(TestIdentity), &["c"], &["c_out"]),
            (Box::new(TestAdd), &["y", "x"], &["y_out"]),
            (Box::new(TestIdentity), &["y_out"], &["scan"]),
        ];
        let mut g = graph("body", &ins, nodes, &["c_out", "y_out", "scan"]);
        // The importer types captured values from the outer graph; do the same here.
        let x = g.find("x").unwrap();
        g.value_mut(x).ty = ValueType::known(DType::F32, &[1]);
        g
    }

    fn run(m: Option<i64>, cond: Option<bool>) -> Result<Vec<Value>> {
        let f = ValueType::known(DType::F32, &[1]);
        let op = Loop { body: body() };
        let g = graph(
            "main",
            &[
                ("m", ValueType::known(DType::I64, &[])),
                ("cond", ValueType::known(DType::Bool, &[])),
                ("y0", f.clone()),
                ("x", f),
            ],
            vec![(Box::new(op), &["m", "cond", "y0"], &["y", "scans"])],
            &["y", "scans"],
        );
        // Omitted optional inputs are modelled by rebuilding the node's input list.
        let mut g = g;
        if m.is_none() {
            g.nodes[0].inputs[0] = None;
        }
        if cond.is_none() {
            g.nodes[0].inputs[1] = None;
        }
        let y0 = Tensor::vec1(vec![1f32]);
        let x = Tensor::vec1(vec![2f32]);
        let feeds = vec![
            Tensor::scalar(m.unwrap_or(0)).into(),
            Tensor::scalar(cond.unwrap_or(true)).into(),
            y0.into(),
            x.into(),
        ];
        run_scoped(&g, feeds, None, 13)
    }

    #[test]
    fn counts_to_m_and_stacks_scans() {
        let out = run(Some(3), None).unwrap();
        assert_eq!(
            out[0].as_tensor().unwrap().to_vec::<f32>().unwrap(),
            vec![7.]
        );
        let s = out[1].as_tensor().unwrap();
        assert_eq!(
            (s.shape(), s.to_vec::<f32>().unwrap()),
            (&[3usize, 1][..], vec![3., 5., 7.])
        );
    }

    #[test]
    fn zero_iterations_and_false_cond() {
        let out = run(Some(5), Some(false)).unwrap();
        assert_eq!(
            out[0].as_tensor().unwrap().to_vec::<f32>().unwrap(),
            vec![1.]
        );
        assert_eq!(out[1].as_tensor().unwrap().shape(), &[0, 1]);
        assert!(run(None, None).is_err());
    }

    #[test]
    fn carries_sequences() {
        // The body appends its iteration number to a carried sequence (opset 13 form).
        let s = ValueType::Sequence(Box::new(ValueType::dtype_only(DType::I64)));
        let ins = [
            ("i", ValueType::known(DType::I64, &[])),
            ("c", ValueType::known(DType::Bool, &[])),
            ("s", s),
        ];
        let nodes: Vec<TestNode> = vec![
            (Box::new(TestIdentity), &["c"], &["c_out"]),
            (Box::new(SequenceInsert), &["s", "i"], &["s_out"]),
        ];
        let op = Loop {
            body: graph("body", &ins, nodes, &["c_out", "s_out"]),
        };
        let inputs = vec![
            Some(Tensor::scalar(3i64).into()),
            None,
            Some(Value::Sequence(vec![])),
        ];
        let out = crate::ops::sequence::common::testing::eval_values(&op, inputs, 1, 13).unwrap();
        let Value::Sequence(s) = &out[0] else {
            panic!("not a sequence")
        };
        assert_eq!(
            s.iter()
                .map(|t| t.to_vec::<i64>().unwrap()[0])
                .collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
    }

    #[test]
    fn infers_carried_and_scan_types() {
        let op = Loop { body: body() };
        let f = ValueType::known(DType::F32, &[1]);
        let ins = [
            ValueType::known(DType::I64, &[]),
            ValueType::Unknown,
            f.clone(),
        ];
        let ctx = InferCtx {
            opset: 13,
            inputs: &ins,
            consts: &[],
            num_outputs: 2,
        };
        let t = op.infer(&ctx).unwrap();
        assert_eq!(t[0], f);
        assert_eq!(
            t[1],
            ValueType::tensor(DType::F32, vec![Dim::Unknown, Dim::Known(1)])
        );
    }
}
