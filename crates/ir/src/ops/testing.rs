//! Helpers for op unit tests: evaluate one op on tensors without building a graph.

use crate::exec::Scope;
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::{Graph, Result, Value, ValueType};
use edgeopt_tensor::Tensor;

/// Evaluates `op` at opset 21 on tensor inputs (`None` = omitted optional input).
pub fn eval(op: &dyn Op, inputs: &[Option<Tensor>], num_outputs: usize) -> Result<Vec<Value>> {
    eval_opset(op, inputs, num_outputs, 21)
}

pub fn eval_opset(
    op: &dyn Op,
    inputs: &[Option<Tensor>],
    num_outputs: usize,
    opset: i64,
) -> Result<Vec<Value>> {
    let g = Graph::default();
    let scope = Scope::root(&g, &[]);
    let ctx = EvalCtx {
        opset,
        num_outputs,
        scope: &scope,
    };
    let vals: Vec<Option<Value>> = inputs
        .iter()
        .map(|t| t.clone().map(Value::Tensor))
        .collect();
    op.eval(&ctx, &Inputs { values: &vals })
}

/// Evaluates a single-output op and returns that tensor.
pub fn eval1(op: &dyn Op, inputs: &[Option<Tensor>]) -> Result<Tensor> {
    match eval(op, inputs, 1)?.into_iter().next() {
        Some(Value::Tensor(t)) => Ok(t),
        other => Err(crate::IrError::Op(format!(
            "expected one tensor output, got {other:?}"
        ))),
    }
}

/// Runs `op.infer` on the static types of `inputs` (constants are passed as known values).
pub fn infer(op: &dyn Op, inputs: &[Option<Tensor>], num_outputs: usize) -> Result<Vec<ValueType>> {
    let types: Vec<ValueType> = inputs
        .iter()
        .map(|t| {
            t.as_ref()
                .map(|t| ValueType::known(t.dtype(), t.shape()))
                .unwrap_or_default()
        })
        .collect();
    let ctx = InferCtx {
        opset: 21,
        inputs: &types,
        consts: inputs,
        num_outputs,
    };
    op.infer(&ctx)
}

/// Asserts two float slices agree within `atol + rtol * |expected|` element-wise.
pub fn assert_close(got: &[f32], want: &[f32], atol: f32, rtol: f32) {
    assert_eq!(got.len(), want.len(), "length differs");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= atol + rtol * w.abs(),
            "element {i}: got {g}, want {w}"
        );
    }
}
