//! simplify_shapes: shape arithmetic on static shapes becomes constants. `Shape` and `Size`
//! of a statically shaped value fold (through the op's `fold_static`); integer ops on small
//! constants (the Gather / Concat / Unsqueeze / Cast of a shape computation) fold; a Reshape or
//! Expand whose output shape is static reads that shape from a constant, so the computation
//! feeding it becomes dead (a constant target with -1 or 0 becomes the literal shape too).
//! Needs types: run inference (with static input shapes) first.

use super::fold_constants::{evaluate, replace_by_constants};
use crate::pass::{PassCtx, Rule};
use crate::rewrite::Editor;
use edgeopt_ir::op::InferCtx;
use edgeopt_ir::ops::array::reshape::Reshape;
use edgeopt_ir::{NodeId, Result, ValueType};
use edgeopt_tensor::Tensor;

/// Shapes, indices and axes are small; anything larger is data, left to fold_constants.
const SHAPE_LIMIT: usize = 4096;

pub struct SimplifyShapes;

pub enum Simplify {
    Fold(NodeId, Vec<Tensor>),
    /// Give input 1 (the target shape) of the node this constant value.
    StaticShape(NodeId, Tensor),
}

fn static_fold(ed: &Editor, n: NodeId, ctx: &PassCtx) -> Option<Vec<Tensor>> {
    let node = ed.node(n);
    let outputs_ok = node
        .outputs
        .iter()
        .flatten()
        .all(|&o| !ed.is_graph_output(o) && !ed.is_pinned(o));
    if !outputs_ok || node.outputs.iter().any(|o| o.is_none()) {
        return None;
    }
    let types: Vec<ValueType> = node
        .inputs
        .iter()
        .map(|v| v.map(|v| ed.value_type(v).clone()).unwrap_or_default())
        .collect();
    let consts: Vec<Option<Tensor>> = node
        .inputs
        .iter()
        .map(|v| v.and_then(|v| ed.constant(v).filter(|t| t.len() <= SHAPE_LIMIT).cloned()))
        .collect();
    let ictx = InferCtx {
        opset: ctx.opset,
        inputs: &types,
        consts: &consts,
        num_outputs: node.outputs.len(),
    };
    let ts = node.op.fold_static(&ictx)?;
    (ts.len() == node.outputs.len()).then_some(ts)
}

impl Rule for SimplifyShapes {
    type Match = Simplify;

    fn name(&self) -> &'static str {
        "simplify_shapes"
    }

    fn targets(&self) -> &'static [&'static str] {
        &[]
    }

    fn find(&self, ed: &Editor, n: NodeId, ctx: &PassCtx) -> Option<Simplify> {
        if let Some(ts) = static_fold(ed, n, ctx) {
            return Some(Simplify::Fold(n, ts));
        }
        let node = ed.node(n);
        if let Some(ts) = evaluate(ed, n, ctx, SHAPE_LIMIT) {
            let ints = ts.iter().all(|t| !t.dtype().is_float());
            return ints.then_some(Simplify::Fold(n, ts));
        }
        let shape_input = node.inputs.get(1).copied().flatten()?;
        let out = node.outputs.first().copied().flatten()?;
        let ok = match node.op_type() {
            "Reshape" => node.op.downcast_ref::<Reshape>()?.shape.is_none(),
            "Expand" => node.op.domain().is_empty(),
            _ => false,
        };
        let shape = ed.shape(out)?;
        // A 0 in a Reshape target means "copy the input dim" unless allowzero: avoid it.
        if !ok || shape.contains(&0) {
            return None;
        }
        let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
        // Already the literal shape (no -1 or 0 left for the runtime to resolve).
        let current = ed.constant(shape_input).and_then(|t| t.to_i64_vec().ok());
        if current.as_ref() == Some(&dims) {
            return None;
        }
        Some(Simplify::StaticShape(n, Tensor::vec1(dims)))
    }

    fn apply(&self, ed: &mut Editor, m: Simplify, _ctx: &PassCtx) -> Result<()> {
        match m {
            Simplify::Fold(n, ts) => replace_by_constants(ed, n, ts),
            Simplify::StaticShape(n, t) => {
                let name = format!("{}_shape", ed.node(n).name);
                let c = ed.add_initializer(&name, t);
                let mut inputs = ed.node(n).inputs.clone();
                if let Some(slot) = inputs.get_mut(1) {
                    *slot = Some(c);
                }
                ed.set_inputs(n, inputs);
                Ok(())
            }
        }
    }
}
