//! Whole-graph type inference and cost: runs each op's `infer` in topological order,
//! propagating small constants so shape arithmetic (Shape -> Gather -> Concat -> Reshape) resolves.

use crate::exec::Scope;
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs};
use crate::{Graph, IrError, Result, TensorType, Value, ValueType};
use edgeopt_tensor::{Dim, Tensor};

/// Constants larger than this are not propagated during inference (they are weights, not shapes).
const MAX_FOLD_ELEMENTS: usize = 1 << 16;

/// Merges a declared type with an inferred one, keeping the more precise information and
/// reporting a contradiction between known facts.
fn merge(declared: &ValueType, inferred: ValueType, what: &str) -> Result<ValueType> {
    match (declared, inferred) {
        (ValueType::Unknown, i) => Ok(i),
        (d, ValueType::Unknown) => Ok(d.clone()),
        (ValueType::Tensor(d), ValueType::Tensor(i)) => {
            if let (Some(a), Some(b)) = (d.dtype, i.dtype) {
                if a != b {
                    return Err(IrError::Graph(format!(
                        "'{what}' is declared {a} but computes {b}"
                    )));
                }
            }
            let shape = match (&d.shape, i.shape) {
                (Some(ds), Some(is)) => {
                    if ds.len() != is.len() {
                        return Err(IrError::Graph(format!(
                            "'{what}' is declared with rank {} but computes rank {}",
                            ds.len(),
                            is.len()
                        )));
                    }
                    let mut out = Vec::with_capacity(ds.len());
                    for (a, b) in ds.iter().zip(is) {
                        out.push(match (a, b) {
                            (Dim::Known(x), Dim::Known(y)) if *x != y => {
                                return Err(IrError::Graph(format!(
                                    "'{what}' is declared {} but computes a dim of {y}",
                                    edgeopt_tensor::shape::fmt_sym(ds)
                                )))
                            }
                            (Dim::Known(x), _) => Dim::Known(*x),
                            (_, Dim::Known(y)) => Dim::Known(y),
                            (Dim::Sym(s), _) => Dim::Sym(s.clone()),
                            (_, b) => b,
                        });
                    }
                    Some(out)
                }
                (Some(ds), None) => Some(ds.clone()),
                (None, is) => is,
            };
            Ok(ValueType::Tensor(TensorType {
                dtype: d.dtype.or(i.dtype),
                shape,
            }))
        }
        (d, _) => Ok(d.clone()),
    }
}

/// Infers and stores the type of every value of `graph`. Errors name the node.
pub fn infer_types(graph: &mut Graph, opset: i64) -> Result<()> {
    let mut consts: Vec<Option<Tensor>> = vec![None; graph.values.len()];
    for (id, t) in &graph.initializers {
        if t.len() <= MAX_FOLD_ELEMENTS {
            consts[id.0 as usize] = Some(t.clone());
        }
    }
    // Graph inputs that are also initializers may be overridden at run time: not constants.
    for i in &graph.inputs {
        consts[i.0 as usize] = None;
    }
    for ni in 0..graph.nodes.len() {
        let node = &graph.nodes[ni];
        let in_types: Vec<ValueType> = node
            .inputs
            .iter()
            .map(|v| v.map(|v| graph.value(v).ty.clone()).unwrap_or_default())
            .collect();
        let in_consts: Vec<Option<Tensor>> = node
            .inputs
            .iter()
            .map(|v| v.and_then(|v| consts[v.0 as usize].clone()))
            .collect();
        let ctx = InferCtx {
            opset,
            inputs: &in_types,
            consts: &in_consts,
            num_outputs: node.outputs.len(),
        };
        let wrap = |e: IrError| IrError::Node {
            node: node.name.clone(),
            op_type: node.op_type().to_string(),
            source: Box::new(e),
        };
        let inferred = node.op.infer(&ctx).map_err(wrap)?;
        let folded = fold(graph, ni, &ctx);
        let outputs = node.outputs.clone();
        for (k, slot) in outputs.iter().enumerate() {
            let Some(id) = slot else { continue };
            let ty = inferred.get(k).cloned().unwrap_or_default();
            let name = graph.value(*id).name.clone();
            let merged = merge(&graph.value(*id).ty, ty, &name).map_err(|e| IrError::Node {
                node: graph.nodes[ni].name.clone(),
                op_type: graph.nodes[ni].op_type().to_string(),
                source: Box::new(e),
            })?;
            graph.value_mut(*id).ty = merged;
            if let Some(Some(t)) = folded.as_ref().and_then(|f| f.get(k).cloned()) {
                consts[id.0 as usize] = Some(t);
            }
        }
    }
    Ok(())
}

/// Constant outputs of node `ni`: from static types (Shape), or by evaluating it when every
/// input is a small constant and the op has no subgraph.
fn fold(graph: &Graph, ni: usize, ctx: &InferCtx) -> Option<Vec<Option<Tensor>>> {
    let node = &graph.nodes[ni];
    if let Some(ts) = node.op.fold_static(ctx) {
        return Some(ts.into_iter().map(Some).collect());
    }
    let all_const = node
        .inputs
        .iter()
        .zip(ctx.consts)
        .all(|(v, c)| v.is_none() || c.is_some());
    if !all_const
        || !node.op.subgraphs().is_empty()
        || node.inputs.is_empty() && node.op_type() != "Constant"
    {
        return None;
    }
    let args: Vec<Option<Value>> = ctx
        .consts
        .iter()
        .map(|c| c.clone().map(Value::Tensor))
        .collect();
    let empty: Vec<Option<Value>> = Vec::new();
    let g = Graph::default();
    let scope = Scope::root(&g, &empty);
    let ectx = EvalCtx {
        opset: ctx.opset,
        num_outputs: node.outputs.len(),
        scope: &scope,
    };
    let outs = node.op.eval(&ectx, &Inputs { values: &args }).ok()?;
    Some(
        outs.into_iter()
            .map(|v| match v {
                Value::Tensor(t) if t.len() <= MAX_FOLD_ELEMENTS => Some(t),
                _ => None,
            })
            .collect(),
    )
}

/// Values holding weights: initializers and outputs of Constant nodes (exporters such as
/// paddle2onnx store every weight as a Constant node).
pub fn weight_values(graph: &Graph) -> Vec<bool> {
    let mut w = vec![false; graph.values.len()];
    for id in graph.initializers.keys() {
        w[id.0 as usize] = true;
    }
    for n in graph
        .nodes
        .iter()
        .filter(|n| n.op_type() == "Constant" && n.op.domain().is_empty())
    {
        for o in n.outputs.iter().flatten() {
            w[o.0 as usize] = true;
        }
    }
    for i in &graph.inputs {
        w[i.0 as usize] = false;
    }
    w
}

/// Cost of each node, from the inferred types (run [`infer_types`] first).
pub fn node_costs(graph: &Graph) -> Vec<Cost> {
    let weights = weight_values(graph);
    graph
        .nodes
        .iter()
        .map(|n| {
            let ty = |v: &Option<crate::ValueId>| {
                v.and_then(|v| graph.value(v).ty.as_tensor().cloned())
                    .unwrap_or_default()
            };
            let inputs: Vec<TensorType> = n.inputs.iter().map(ty).collect();
            let outputs: Vec<TensorType> = n.outputs.iter().map(ty).collect();
            let is_param: Vec<bool> = n
                .inputs
                .iter()
                .map(|v| v.is_some_and(|v| weights[v.0 as usize]))
                .collect();
            n.op.cost(&CostCtx {
                inputs: &inputs,
                outputs: &outputs,
                is_param: &is_param,
            })
        })
        .collect()
}
