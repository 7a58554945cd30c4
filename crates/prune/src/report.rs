//! Size and cost of a model, per layer and total: what pruning changed.

use edgeopt_ir::infer::node_costs;
use edgeopt_ir::Model;

/// Cost of one node that has weights or MACs.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerCost {
    /// Node name.
    pub node: String,
    /// Op type.
    pub op_type: String,
    /// Multiply-accumulates per inference.
    pub macs: u64,
    /// Parameters (elements of its constant inputs).
    pub params: u64,
    /// Nonzero parameters.
    pub nonzero: u64,
}

/// A model's cost summary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelCost {
    /// Per node, for nodes with MACs or parameters.
    pub layers: Vec<LayerCost>,
    /// Sum of MACs.
    pub macs: u64,
    /// Parameters: all initializer elements.
    pub params: u64,
    /// Nonzero float parameters plus all non-float ones.
    pub nonzero: u64,
}

/// Measures `model` (types must be inferred).
pub fn model_cost(model: &Model) -> ModelCost {
    let g = &model.graph;
    let costs = node_costs(g);
    let nonzero_of = |t: &edgeopt_tensor::Tensor| -> u64 {
        match t.to_f64_vec() {
            Ok(v) if t.dtype().is_float() => v.iter().filter(|x| **x != 0.0).count() as u64,
            _ => t.len() as u64,
        }
    };
    let mut out = ModelCost::default();
    for (n, c) in g.nodes.iter().zip(&costs) {
        let mut params = 0;
        let mut nonzero = 0;
        for v in n.inputs.iter().flatten() {
            if let Some(t) = g.initializers.get(v) {
                if t.dtype().is_float() {
                    params += t.len() as u64;
                    nonzero += nonzero_of(t);
                }
            }
        }
        out.macs += c.macs;
        if c.macs > 0 || params > 0 {
            out.layers.push(LayerCost {
                node: n.name.clone(),
                op_type: n.op_type().to_string(),
                macs: c.macs,
                params,
                nonzero,
            });
        }
    }
    for t in g.initializers.values() {
        out.params += t.len() as u64;
        out.nonzero += nonzero_of(t);
    }
    out
}
