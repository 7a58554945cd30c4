//! edgeopt-prune: pruning ONNX models.
//!
//! - **Masks** ([`unstructured`]): magnitude (per layer or global), block and N:M sparsity;
//!   shapes stay, zeros appear (for sparse kernels and compression).
//! - **Structured** ([`channel`]): filter/channel pruning of convolutions and neuron pruning of
//!   Gemm/MatMul, dependency-aware ([`depgraph`], [`rules`]): channels that must shrink
//!   together (BN, residual Adds, Concat slices, depthwise convs, Flatten -> Gemm blocks) are
//!   removed together, and the model is physically shrunk ([`shrink`]).
//! - **Sensitivity** ([`sensitivity`]): output error per layer vs sparsity and a per-layer
//!   allocation meeting a global target.
//! - **Criteria** ([`channel::Criterion`]): L1/L2 norms, activations, first-order Taylor
//!   ([`taylor`], gradients from the training engine).
//! - **Fine-tuning** ([`finetune`]): masked or shrunk models trained with
//!   [`edgeopt_train::Trainer`], gradual pruning on the cubic schedule ([`schedule`]) with
//!   resumable checkpoints.
//! - **Reports** ([`report`]): parameters, nonzeros and MACs per layer; [`latency`]: models
//!   timed in alternation on the runtime, per step.
#![deny(missing_docs)]

mod attrs;
pub mod channel;
pub mod depgraph;
pub mod finetune;
pub mod latency;
pub mod report;
pub mod rules;
pub mod schedule;
pub mod sensitivity;
pub mod shrink;
pub mod taylor;
mod tensor_ops;
pub mod unstructured;

use edgeopt_ir::{Attribute, IrError, Model};

pub use channel::{prune_structured, Criterion, GroupReport, Target};
pub use shrink::{apply_plan, Apply};
pub use unstructured::{layers, prune_masks, LayerReport, Mask};

/// Pruning errors; messages name the node, tensor and shapes.
#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    /// From the IR (inference, evaluation).
    #[error(transparent)]
    Ir(#[from] IrError),
    /// From tensor construction.
    #[error(transparent)]
    Tensor(#[from] edgeopt_tensor::TensorError),
    /// A graph the pruner cannot handle.
    #[error("prune: {0}")]
    Graph(String),
    /// A bad argument.
    #[error("prune: {0}")]
    Input(String),
    /// From the training engine (fine-tuning, gradients).
    #[error("fine-tuning: {0}")]
    Train(String),
}

/// Result with [`PruneError`].
pub type Result<T> = std::result::Result<T, PruneError>;

/// Prepares a model for pruning: `Constant` nodes holding a tensor become initializers (as
/// paddle2onnx exports store weights), and types are inferred.
pub fn normalize(model: &mut Model) -> Result<()> {
    let g = &mut model.graph;
    let mut keep = Vec::with_capacity(g.nodes.len());
    for node in std::mem::take(&mut g.nodes) {
        let value = (node.op_type() == "Constant" && node.op.domain().is_empty())
            .then(|| node.op.attributes())
            .and_then(|a| {
                a.into_iter().find_map(|(k, v)| match (k.as_str(), v) {
                    ("value", Attribute::Tensor(t)) => Some(t),
                    _ => None,
                })
            });
        match (value, node.outputs.first().copied().flatten()) {
            (Some(t), Some(out)) if node.outputs.len() == 1 => {
                g.value_mut(out).ty = edgeopt_ir::ValueType::Tensor(edgeopt_ir::TensorType::of(&t));
                g.initializers.insert(out, t);
            }
            _ => keep.push(node),
        }
    }
    g.nodes = keep;
    shrink::reinfer(model)
}
