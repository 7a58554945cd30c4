//! The passes, one per file, and the table that names them.

pub mod decompose_fused;
pub mod eliminate_dead_nodes;
pub mod eliminate_identities;
pub mod fold_batch_norm;
pub mod fold_constants;
pub mod fuse_activation;
pub mod fuse_bias;
pub mod fuse_elementwise;
pub mod simplify_shapes;
mod weights;

use crate::pass::{Pass, RulePass};

/// Every pass name [`by_name`] knows.
pub const ALL: &[&str] = &[
    "simplify_shapes",
    "fold_constants",
    "eliminate_identities",
    "eliminate_dead_nodes",
    "fuse_bias",
    "fold_batch_norm",
    "fuse_activation",
    "fuse_elementwise",
    "decompose_fused",
];

/// The pass called `name`.
pub fn by_name(name: &str) -> Option<Box<dyn Pass>> {
    Some(match name {
        "simplify_shapes" => Box::new(RulePass(simplify_shapes::SimplifyShapes)),
        "fold_constants" => Box::new(RulePass(fold_constants::FoldConstants)),
        "eliminate_identities" => Box::new(RulePass(eliminate_identities::EliminateIdentities)),
        "eliminate_dead_nodes" => Box::new(eliminate_dead_nodes::EliminateDeadNodes),
        "fuse_bias" => Box::new(RulePass(fuse_bias::FuseBias)),
        "fold_batch_norm" => Box::new(RulePass(fold_batch_norm::FoldBatchNorm)),
        "fuse_activation" => Box::new(RulePass(fuse_activation::FuseActivation)),
        "fuse_elementwise" => Box::new(RulePass(fuse_elementwise::FuseElementwise)),
        "decompose_fused" => Box::new(RulePass(decompose_fused::DecomposeFused)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
