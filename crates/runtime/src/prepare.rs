//! Phase 1 of a build: a model specialized to concrete input shapes, QDQ patterns fused into
//! int8 nodes, optimized, with types re-inferred and every constant-only node folded once.
//!
//! [`prepare`] is shared by the session and by [`crate::plan::memory_plan`], so the memory
//! plan a cost model reports is the one the session runs with.

use crate::Result;
use edgeopt_ir::exec::Scope;
use edgeopt_ir::op::{EvalCtx, Inputs};
use edgeopt_ir::{Graph, Model, Value};
use edgeopt_tensor::Tensor;

/// A model ready to plan and lower.
pub struct Prepared {
    pub model: Model,
    /// Constant value of each value id (initializers and folded nodes' outputs).
    pub consts: Vec<Option<Tensor>>,
    /// Node indices (into `model.graph.nodes`) that run at run time, in order.
    pub schedule: Vec<usize>,
}

/// Ops that must run every time even when their inputs are constant.
fn is_nondeterministic(op_type: &str) -> bool {
    op_type.starts_with("Random") || op_type == "Multinomial" || op_type == "Bernoulli"
}

/// Specializes `model` to `shapes` (by input name), optimizes it at `opt_level` and folds
/// constant nodes. From opt level 1 on, QDQ patterns become QLinearConv / QLinearMatMul
/// ([`crate::lower::int8::fuse_qdq`]) before constant folding could turn `DequantizeLinear(w)`
/// into f32 weights.
pub fn prepare(model: &Model, shapes: &[(String, Vec<usize>)], opt_level: u8) -> Result<Prepared> {
    use crate::trace::phase;
    let mut m = phase("clone model", || model.clone());
    if !shapes.is_empty() {
        let refs: Vec<(&str, &[usize])> = shapes
            .iter()
            .map(|(n, s)| (n.as_str(), s.as_slice()))
            .collect();
        phase("specialize inputs", || {
            edgeopt_passes::specialize_inputs(&mut m, &refs)
        })?;
    }
    if opt_level > 0 {
        phase("fuse qdq", || crate::lower::int8::fuse_qdq(&mut m))?;
        let reports = phase("optimize", || edgeopt_passes::optimize(&mut m, opt_level))?;
        if crate::trace::enabled() {
            for r in &reports {
                eprintln!(
                    "[build]   pass {:<22} {:8.2} ms",
                    r.name,
                    r.time.as_secs_f64() * 1e3
                );
            }
        }
        let opset = m.opset();
        phase("infer types", || {
            edgeopt_ir::infer::infer_types(&mut m.graph, opset)
        })?;
    }
    let (consts, schedule) = phase("fold constants", || fold(&m.graph, m.opset()));
    Ok(Prepared {
        model: m,
        consts,
        schedule,
    })
}

/// Evaluates every node whose inputs are all constants; returns the constants and the nodes
/// left to run.
fn fold(g: &Graph, opset: i64) -> (Vec<Option<Tensor>>, Vec<usize>) {
    let mut consts: Vec<Option<Tensor>> = vec![None; g.values.len()];
    for (id, t) in &g.initializers {
        consts[id.0 as usize] = Some(t.clone());
    }
    // Inputs that also have an initializer are not fed (`feed_inputs`): their initializer is
    // their value, a constant.
    let mut schedule = Vec::with_capacity(g.nodes.len());
    for (ni, node) in g.nodes.iter().enumerate() {
        let foldable = !is_nondeterministic(node.op_type())
            && node.op.subgraphs().is_empty()
            && node.implicit_inputs.is_empty()
            && (!node.inputs.is_empty() || node.op_type() == "Constant")
            && node
                .inputs
                .iter()
                .all(|v| v.is_none_or(|v| consts[v.0 as usize].is_some()));
        if foldable {
            if let Some(outs) = eval_const(g, node, &consts, opset) {
                for (slot, t) in node.outputs.iter().zip(outs) {
                    if let Some(id) = slot {
                        consts[id.0 as usize] = Some(t);
                    }
                }
                continue;
            }
        }
        schedule.push(ni);
    }
    (consts, schedule)
}

fn eval_const(
    g: &Graph,
    node: &edgeopt_ir::Node,
    consts: &[Option<Tensor>],
    opset: i64,
) -> Option<Vec<Tensor>> {
    let args: Vec<Option<Value>> = node
        .inputs
        .iter()
        .map(|v| v.and_then(|v| consts[v.0 as usize].clone().map(Value::Tensor)))
        .collect();
    let empty: Vec<Option<Value>> = Vec::new();
    let scope = Scope::root(g, &empty);
    let ctx = EvalCtx {
        opset,
        num_outputs: node.outputs.len(),
        scope: &scope,
    };
    let outs = node.op.eval(&ctx, &Inputs { values: &args }).ok()?;
    let ts: Vec<Tensor> = outs
        .into_iter()
        .map(|v| match v {
            Value::Tensor(t) => Some(t),
            _ => None,
        })
        .collect::<Option<_>>()?;
    (ts.len() >= node.outputs.iter().flatten().count()).then_some(ts)
}
