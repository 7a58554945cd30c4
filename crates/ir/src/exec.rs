//! The reference executor: runs a graph node by node with each op's plain-Rust `eval`.
//! It is the oracle the optimized runtime is tested against, not the fast path.

use crate::op::{EvalCtx, Inputs};
use crate::{Graph, IrError, Model, Result, Value, ValueId};

/// Values visible to a running graph, chained to the enclosing graph's for subgraphs.
pub struct Scope<'a> {
    parent: Option<&'a Scope<'a>>,
    graph: &'a Graph,
    values: &'a [Option<Value>],
}

impl<'a> Scope<'a> {
    /// A scope with no parent over `values` of `graph`.
    pub fn root(graph: &'a Graph, values: &'a [Option<Value>]) -> Self {
        Scope {
            parent: None,
            graph,
            values,
        }
    }

    /// The value named `name` here or in an enclosing scope.
    pub fn lookup(&self, name: &str) -> Option<Value> {
        if let Some(id) = self.graph.find(name) {
            if let Some(Some(v)) = self.values.get(id.0 as usize) {
                return Some(v.clone());
            }
        }
        self.parent.and_then(|p| p.lookup(name))
    }
}

/// Graph inputs the caller must feed: declared inputs that have no initializer.
pub fn feed_inputs(graph: &Graph) -> Vec<ValueId> {
    graph
        .inputs
        .iter()
        .copied()
        .filter(|v| !graph.initializers.contains_key(v))
        .collect()
}

/// Runs the model's main graph. `inputs` are positional over [`feed_inputs`].
pub fn run_model(model: &Model, inputs: Vec<Value>) -> Result<Vec<Value>> {
    run_scoped(&model.graph, inputs, None, model.opset())
}

/// Runs `graph` with `inputs` (positional over its feed inputs, or over all declared inputs for
/// subgraphs) in an optional enclosing scope.
pub fn run_scoped(
    graph: &Graph,
    inputs: Vec<Value>,
    parent: Option<&Scope>,
    opset: i64,
) -> Result<Vec<Value>> {
    let mut values: Vec<Option<Value>> = vec![None; graph.values.len()];
    for (id, t) in &graph.initializers {
        values[id.0 as usize] = Some(Value::Tensor(t.clone()));
    }
    let feeds = if inputs.len() == graph.inputs.len() {
        graph.inputs.clone()
    } else {
        feed_inputs(graph)
    };
    if inputs.len() != feeds.len() {
        let names: Vec<&str> = feeds
            .iter()
            .map(|v| graph.value(*v).name.as_str())
            .collect();
        return Err(IrError::Graph(format!(
            "graph '{}' takes {} inputs ({}), {} given",
            graph.name,
            feeds.len(),
            names.join(", "),
            inputs.len()
        )));
    }
    for (id, v) in feeds.iter().zip(inputs) {
        values[id.0 as usize] = Some(v);
    }
    if let Some(p) = parent {
        for c in &graph.captures {
            let name = &graph.value(*c).name;
            let v = p.lookup(name).ok_or_else(|| {
                IrError::Graph(format!(
                    "subgraph '{}' reads '{name}', which no enclosing graph defines",
                    graph.name
                ))
            })?;
            values[c.0 as usize] = Some(v);
        }
    }
    let last_use = last_uses(graph);
    for (i, node) in graph.nodes.iter().enumerate() {
        let args: Vec<Option<Value>> = node
            .inputs
            .iter()
            .map(|v| match v {
                Some(v) => values[v.0 as usize]
                    .clone()
                    .ok_or_else(|| {
                        IrError::Graph(format!(
                            "node '{}' reads '{}' before it is computed",
                            node.name,
                            graph.value(*v).name
                        ))
                    })
                    .map(Some),
                None => Ok(None),
            })
            .collect::<Result<_>>()?;
        let outs = {
            let scope = Scope {
                parent,
                graph,
                values: &values,
            };
            let ctx = EvalCtx {
                opset,
                num_outputs: node.outputs.len(),
                scope: &scope,
            };
            node.op
                .eval(&ctx, &Inputs { values: &args })
                .map_err(|e| IrError::Node {
                    node: node.name.clone(),
                    op_type: node.op_type().to_string(),
                    source: Box::new(e),
                })?
        };
        for (slot, v) in node.outputs.iter().zip(outs) {
            if let Some(id) = slot {
                values[id.0 as usize] = Some(v);
            }
        }
        for v in node.inputs.iter().flatten() {
            if last_use[v.0 as usize] == Some(i) {
                values[v.0 as usize] = None;
            }
        }
    }
    graph
        .outputs
        .iter()
        .map(|o| {
            values[o.0 as usize].clone().ok_or_else(|| {
                IrError::Graph(format!(
                    "graph output '{}' was not computed",
                    graph.value(*o).name
                ))
            })
        })
        .collect()
}

/// Index of the last node reading each value; graph outputs are never freed.
fn last_uses(graph: &Graph) -> Vec<Option<usize>> {
    let mut last = vec![None; graph.values.len()];
    for (i, n) in graph.nodes.iter().enumerate() {
        for v in n.inputs.iter().flatten().chain(&n.implicit_inputs) {
            last[v.0 as usize] = Some(i);
        }
    }
    for o in &graph.outputs {
        last[o.0 as usize] = None;
    }
    last
}
