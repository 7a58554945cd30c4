//! Scan: runs a subgraph over slices of its scan inputs, carrying state variables and stacking
//! per-iteration scan outputs.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Scan.html>
//!
//! Attributes: `body` (inputs: N states then M scan slices; outputs: N states then K scan
//! outputs), `num_scan_inputs` (M, required); opset 9+: `scan_input_axes`,
//! `scan_input_directions`, `scan_output_axes`, `scan_output_directions` (axes default 0,
//! negative counts from the back; direction 1 iterates/stacks in reverse); opset 8:
//! `directions` (per scan input).
//! Inputs, opset 9+: N initial states, M scan inputs. Outputs: N final states, K scan outputs.
//! Opset 8 has a leading batch axis on every input and output, and a first, optional input
//! `sequence_lens` ([batch] int64) limiting the iterations per batch row (shorter scan outputs
//! are zero padded). Opsets 8, 9, 11 (negative axes), 16, 19, 21, 23, 24, 25 (wider types only).

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::control::common::body_output_types;
use crate::ops::control::scan8;
use crate::ops::sequence::common::norm_axis;
use crate::registry::BuildCtx;
use crate::{bail, AttrList, Attribute, Graph, Result, TensorType, Value, ValueType};
use edgeopt_tensor::{Dim, Tensor};

#[derive(Clone, Debug)]
pub struct Scan {
    pub body: Graph,
    pub num_scan_inputs: usize,
    /// Opset 8 form: batch axis first, `sequence_lens` input, `directions` attribute.
    pub batched: bool,
    pub input_axes: Option<Vec<i64>>,
    pub input_directions: Option<Vec<i64>>,
    pub output_axes: Option<Vec<i64>>,
    pub output_directions: Option<Vec<i64>>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let body = ctx.attrs.req_graph("body")?;
    let m = ctx.attrs.req_int("num_scan_inputs")?;
    let batched = ctx.opset < 9;
    let state_inputs = ctx.num_inputs as i64 - m - batched as i64;
    if m <= 0 || state_inputs < 0 || body.inputs.len() as i64 != state_inputs + m {
        bail!(
            "Scan: num_scan_inputs {m} does not fit {} node inputs and a body of {} inputs",
            ctx.num_inputs,
            body.inputs.len()
        );
    }
    if body.outputs.len() != ctx.num_outputs || ctx.num_outputs < state_inputs as usize {
        bail!(
            "Scan: body has {} outputs, the node {}",
            body.outputs.len(),
            ctx.num_outputs
        );
    }
    let mut op = Scan {
        body,
        num_scan_inputs: m as usize,
        batched,
        input_axes: None,
        input_directions: None,
        output_axes: None,
        output_directions: None,
    };
    if batched {
        op.input_directions = ctx.attrs.ints("directions")?;
    } else {
        op.input_axes = ctx.attrs.ints("scan_input_axes")?;
        op.input_directions = ctx.attrs.ints("scan_input_directions")?;
        op.output_axes = ctx.attrs.ints("scan_output_axes")?;
        op.output_directions = ctx.attrs.ints("scan_output_directions")?;
    }
    for (name, v, len) in [
        (
            "scan input directions",
            &op.input_directions,
            op.num_scan_inputs,
        ),
        (
            "scan output directions",
            &op.output_directions,
            op.num_scan_outputs(),
        ),
    ] {
        if let Some(v) = v {
            if v.len() != len || v.iter().any(|&d| d != 0 && d != 1) {
                bail!("Scan: {name} {v:?} should be {len} values of 0 or 1");
            }
        }
    }
    for (name, v, len) in [
        ("scan_input_axes", &op.input_axes, op.num_scan_inputs),
        ("scan_output_axes", &op.output_axes, op.num_scan_outputs()),
    ] {
        if v.as_ref().is_some_and(|v| v.len() != len) {
            bail!("Scan: {name} {v:?} should have {len} values");
        }
    }
    Ok(Box::new(op))
}

/// Entry `i` of an optional per-input list, 0 by default.
pub fn nth(v: &Option<Vec<i64>>, i: usize) -> i64 {
    v.as_ref().and_then(|v| v.get(i).copied()).unwrap_or(0)
}

impl Scan {
    pub fn num_states(&self) -> usize {
        self.body.inputs.len().saturating_sub(self.num_scan_inputs)
    }

    /// The body's arity, re-checked because the struct may be built without `build`.
    fn check(&self) -> Result<()> {
        if self.num_scan_inputs == 0
            || self.body.inputs.len() < self.num_scan_inputs
            || self.body.outputs.len() < self.num_states()
        {
            bail!(
                "Scan: body has {} inputs and {} outputs for {} scan inputs",
                self.body.inputs.len(),
                self.body.outputs.len(),
                self.num_scan_inputs
            );
        }
        Ok(())
    }

    pub fn num_scan_outputs(&self) -> usize {
        self.body.outputs.len().saturating_sub(self.num_states())
    }
}

impl Op for Scan {
    fn op_type(&self) -> &str {
        "Scan"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        self.check()?;
        if self.batched {
            return Ok(scan8::infer(self, ctx));
        }
        let n = self.num_states();
        let mut ins: Vec<ValueType> = (0..n).map(|i| ctx.input(i).clone()).collect();
        let mut steps = Dim::Unknown;
        for j in 0..self.num_scan_inputs {
            let t = ctx.tensor(n + j);
            let shape = match t.shape {
                Some(mut s) => {
                    let a = norm_axis(nth(&self.input_axes, j), s.len(), "Scan input")?;
                    if j == 0 {
                        steps = s[a].clone();
                    }
                    s.remove(a);
                    Some(s)
                }
                None => None,
            };
            ins.push(ValueType::Tensor(TensorType {
                dtype: t.dtype,
                shape,
            }));
        }
        let outs = body_output_types(&self.body, &ins, ctx.opset);
        let mut res: Vec<ValueType> = outs[..n].to_vec();
        for (k, t) in outs[n..].iter().enumerate() {
            let t = t.as_tensor().cloned().unwrap_or_default();
            let shape = match t.shape {
                Some(mut s) => {
                    let a = norm_axis(nth(&self.output_axes, k), s.len() + 1, "Scan output")?;
                    s.insert(a, steps.clone());
                    Some(s)
                }
                None => None,
            };
            res.push(ValueType::Tensor(TensorType {
                dtype: t.dtype,
                shape,
            }));
        }
        Ok(res)
    }

    fn eval(&self, ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        self.check()?;
        if self.batched {
            return scan8::eval(self, ctx, inputs);
        }
        let n = self.num_states();
        let states: Vec<Value> = (0..n)
            .map(|i| {
                inputs
                    .value(i)
                    .cloned()
                    .ok_or_else(|| crate::IrError::Op(format!("Scan: state input {i} is missing")))
            })
            .collect::<Result<_>>()?;
        let scans: Vec<&Tensor> = (0..self.num_scan_inputs)
            .map(|j| inputs.tensor(n + j))
            .collect::<Result<_>>()?;
        let axes: Vec<usize> = scans
            .iter()
            .enumerate()
            .map(|(j, x)| norm_axis(nth(&self.input_axes, j), x.rank(), "Scan input"))
            .collect::<Result<_>>()?;
        let len = scans[0].shape()[axes[0]];
        if let Some(j) = (0..scans.len()).find(|&j| scans[j].shape()[axes[j]] != len) {
            bail!(
                "Scan: scan input {j} has shape {:?}, expected {len} steps along axis {}",
                scans[j].shape(),
                axes[j]
            );
        }
        if len == 0 && self.num_scan_outputs() > 0 {
            let slices = scans.iter().zip(&axes).map(|(x, &a)| {
                let mut s = x.shape().to_vec();
                s.remove(a);
                ValueType::known(x.dtype(), &s)
            });
            let empty = self.empty_outputs(ctx, &states, slices.collect())?;
            return Ok(states
                .into_iter()
                .chain(empty.into_iter().map(Value::Tensor))
                .collect());
        }
        let (mut res, outs) = self.run_rows(ctx, states, &scans, &axes, len)?;
        for (k, ts) in outs.into_iter().enumerate() {
            res.push(Value::Tensor(self.stack_output(k, ts)?));
        }
        Ok(res)
    }

    fn cost(&self, _ctx: &crate::CostCtx) -> crate::Cost {
        crate::Cost::default()
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let a = AttrList::default()
            .graph("body", &self.body)
            .int("num_scan_inputs", self.num_scan_inputs as i64);
        if self.batched {
            return a
                .opt_ints("directions", self.input_directions.as_deref())
                .build();
        }
        a.opt_ints("scan_input_axes", self.input_axes.as_deref())
            .opt_ints("scan_input_directions", self.input_directions.as_deref())
            .opt_ints("scan_output_axes", self.output_axes.as_deref())
            .opt_ints("scan_output_directions", self.output_directions.as_deref())
            .build()
    }

    fn subgraphs(&self) -> Vec<&Graph> {
        vec![&self.body]
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ops::control::common::testing::{graph, TestAdd, TestIdentity, TestNode};
    use crate::ops::sequence::common::testing::{eval_values, f32s, tensor};
    use edgeopt_tensor::DType;

    /// sum_out = sum_in + next; scan_out = sum_out (the ONNX test_scan9_sum body).
    pub(crate) fn sum_body() -> Graph {
        let f = ValueType::dtype_only(DType::F32);
        let nodes: Vec<TestNode> = vec![
            (Box::new(TestAdd), &["sum_in", "next"], &["sum_out"]),
            (Box::new(TestIdentity), &["sum_out"], &["scan_out"]),
        ];
        graph(
            "body",
            &[("sum_in", f.clone()), ("next", f)],
            nodes,
            &["sum_out", "scan_out"],
        )
    }

    fn op(in_axis: i64, in_dir: i64, out_axis: i64, out_dir: i64) -> Scan {
        Scan {
            body: sum_body(),
            num_scan_inputs: 1,
            batched: false,
            input_axes: Some(vec![in_axis]),
            input_directions: Some(vec![in_dir]),
            output_axes: Some(vec![out_axis]),
            output_directions: Some(vec![out_dir]),
        }
    }

    fn run(op: &Scan) -> Vec<Value> {
        let init = Tensor::vec1(vec![0f32, 0.]);
        let x = Tensor::from_vec(vec![3, 2], vec![1f32, 2., 3., 4., 5., 6.]).unwrap();
        eval_values(op, vec![Some(init.into()), Some(x.into())], 2, 11).unwrap()
    }

    #[test]
    fn running_sum_like_onnx_example() {
        // Values from the ONNX Scan spec example (test_scan9_sum): y = [9, 12],
        // z = [[1, 2], [4, 6], [9, 12]].
        let out = run(&op(0, 0, 0, 0));
        assert_eq!(f32s(tensor(&out[0])), vec![9., 12.]);
        assert_eq!(f32s(tensor(&out[1])), vec![1., 2., 4., 6., 9., 12.]);
    }

    #[test]
    fn reverse_directions_and_axes() {
        // Reverse input: partial sums [5,6], [8,10], [9,12]; reversed output flips them back.
        let out = run(&op(0, 1, 0, 1));
        assert_eq!(f32s(tensor(&out[1])), vec![9., 12., 8., 10., 5., 6.]);
        // Scanning the last axis of [3,2] gives two slices of length 3; stacking on axis 1.
        let init = Tensor::vec1(vec![0f32, 0., 0.]);
        let x = Tensor::from_vec(vec![3, 2], vec![1f32, 2., 3., 4., 5., 6.]).unwrap();
        let out = eval_values(
            &op(-1, 0, 1, 0),
            vec![Some(init.into()), Some(x.into())],
            2,
            11,
        )
        .unwrap();
        assert_eq!(f32s(tensor(&out[0])), vec![3., 7., 11.]);
        let z = tensor(&out[1]);
        assert_eq!(
            (z.shape(), f32s(z)),
            (&[3usize, 2][..], vec![1., 3., 3., 7., 5., 11.])
        );
    }

    #[test]
    fn zero_steps_give_empty_scan_outputs() {
        let init = Tensor::vec1(vec![1f32, 2.]);
        let x = Tensor::from_vec(vec![0, 2], Vec::<f32>::new()).unwrap();
        let out = eval_values(
            &op(0, 0, 1, 0),
            vec![Some(init.into()), Some(x.into())],
            2,
            11,
        )
        .unwrap();
        assert_eq!(f32s(tensor(&out[0])), vec![1., 2.]);
        assert_eq!(tensor(&out[1]).shape(), &[2, 0]);
    }

    #[test]
    fn infers_stacked_shapes() {
        let o = op(0, 0, 0, 0);
        let ins = [
            ValueType::known(DType::F32, &[2]),
            ValueType::known(DType::F32, &[3, 2]),
        ];
        let ctx = InferCtx {
            opset: 11,
            inputs: &ins,
            consts: &[],
            num_outputs: 2,
        };
        let t = o.infer(&ctx).unwrap();
        assert_eq!(t[0], ValueType::known(DType::F32, &[2]));
        assert_eq!(t[1], ValueType::known(DType::F32, &[3, 2]));
    }
}
