//! fold_constants: a node whose inputs are all constants is evaluated once, with the op's
//! reference `eval`, and its outputs become initializers. Constant nodes become initializers.
//!
//! Not folded: ops with randomness or state (a folded random draw would be one sample frozen
//! forever), ops with subgraphs, nodes producing graph outputs (an initializer cannot keep the
//! output's place without an Identity, which would fold again), and results over the size
//! limit (folding would trade a cheap op for a large weight).

use crate::pass::{PassCtx, Rule};
use crate::rewrite::Editor;
use edgeopt_ir::exec::Scope;
use edgeopt_ir::op::{EvalCtx, InferCtx, Inputs};
use edgeopt_ir::{Graph, NodeId, Result, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::Tensor;

/// Ops that must run every time: random draws, training-time state updates.
const NEVER_FOLD: &[&str] = &[
    "RandomNormal",
    "RandomUniform",
    "RandomNormalLike",
    "RandomUniformLike",
    "Multinomial",
    "Bernoulli",
    "Dropout",
    "Adam",
    "Adagrad",
    "Momentum",
    "Gradient",
];

pub struct FoldConstants;

/// The outputs of node `n` when every input is a constant and every output is a tensor of at
/// most `limit` elements; `None` when it cannot or should not be folded.
pub(crate) fn evaluate(ed: &Editor, n: NodeId, ctx: &PassCtx, limit: usize) -> Option<Vec<Tensor>> {
    let node = ed.node(n);
    if NEVER_FOLD.contains(&node.op_type())
        || !node.op.subgraphs().is_empty()
        || !node.implicit_inputs.is_empty()
        || node
            .outputs
            .iter()
            .flatten()
            .any(|&o| ed.is_graph_output(o) || ed.is_pinned(o))
        || node.outputs.iter().all(|o| o.is_none())
    {
        return None;
    }
    if node.inputs.is_empty() && node.op_type() != "Constant" {
        return None;
    }
    let consts: Vec<Option<Tensor>> = node
        .inputs
        .iter()
        .map(|v| match v {
            None => Some(None),
            Some(v) => ed.constant(*v).map(|t| Some(t.clone())),
        })
        .collect::<Option<_>>()?;
    let types: Vec<ValueType> = consts
        .iter()
        .map(|c| c.as_ref().map(|t| ValueType::known(t.dtype(), t.shape())))
        .map(Option::unwrap_or_default)
        .collect();
    // Inference with the constants gives the output sizes before anything is computed.
    let ictx = InferCtx {
        opset: ctx.opset,
        inputs: &types,
        consts: &consts,
        num_outputs: node.outputs.len(),
    };
    let out_types = node.op.infer(&ictx).ok()?;
    for t in &out_types {
        let shape = t.as_tensor()?.concrete_shape()?;
        if checked_numel(&shape).ok()? > limit {
            return None;
        }
    }
    let args: Vec<Option<Value>> = consts.into_iter().map(|c| c.map(Value::Tensor)).collect();
    let g = Graph::default();
    let scope = Scope::root(&g, &[]);
    let ectx = EvalCtx {
        opset: ctx.opset,
        num_outputs: node.outputs.len(),
        scope: &scope,
    };
    let outs = node.op.eval(&ectx, &Inputs { values: &args }).ok()?;
    if outs.len() != node.outputs.len() {
        return None;
    }
    outs.into_iter()
        .map(|v| match v {
            Value::Tensor(t) if t.len() <= limit => Some(t),
            _ => None,
        })
        .collect()
}

/// Replaces node `n` by initializers holding `outs` under its output values' names.
pub(crate) fn replace_by_constants(ed: &mut Editor, n: NodeId, outs: Vec<Tensor>) -> Result<()> {
    let outputs = ed.node(n).outputs.clone();
    ed.remove_node(n);
    for (o, t) in outputs.into_iter().zip(outs) {
        if let Some(o) = o {
            ed.make_initializer(o, t)?;
        }
    }
    Ok(())
}

impl Rule for FoldConstants {
    type Match = (NodeId, Vec<Tensor>);

    fn name(&self) -> &'static str {
        "fold_constants"
    }

    fn targets(&self) -> &'static [&'static str] {
        &[]
    }

    fn find(&self, ed: &Editor, n: NodeId, ctx: &PassCtx) -> Option<Self::Match> {
        evaluate(ed, n, ctx, ctx.fold_limit).map(|outs| (n, outs))
    }

    fn apply(&self, ed: &mut Editor, (n, outs): Self::Match, _ctx: &PassCtx) -> Result<()> {
        replace_by_constants(ed, n, outs)
    }
}
