//! The ops passes introduce, in domain `com.edgeopt`: fused producers with an activation, and
//! fused element-wise chains. Each evaluates with the IR's reference ops (so the executor
//! checks fusion), exports its attributes (so it round-trips through a registry that has
//! [`register`]ed it), and can be written back as standard ONNX nodes with [`Fused::decompose`]
//! for tools that do not know the domain (ONNX Runtime).

pub mod activation;
pub mod fused_conv;
pub mod fused_elementwise;
pub mod fused_matmul;

use crate::rewrite::Editor;
use edgeopt_ir::{NodeId, Op, Registry, Result};

/// The domain of the ops this crate adds.
pub const DOMAIN: &str = "com.edgeopt";

/// A fused op that can be expanded back into standard ONNX nodes.
pub trait Fused {
    /// Replaces node `n` (holding `self`) by standard nodes computing the same outputs, written
    /// for default-domain opset `opset`.
    fn decompose(&self, ed: &mut Editor, n: NodeId, opset: i64) -> Result<()>;
}

/// The [`Fused`] view of an op of this crate.
pub fn as_fused(op: &dyn Op) -> Option<&dyn Fused> {
    if let Some(o) = op.downcast_ref::<fused_conv::FusedConv>() {
        return Some(o);
    }
    if let Some(o) = op.downcast_ref::<fused_matmul::FusedGemm>() {
        return Some(o);
    }
    if let Some(o) = op.downcast_ref::<fused_matmul::FusedMatMul>() {
        return Some(o);
    }
    if let Some(o) = op.downcast_ref::<fused_elementwise::FusedElementwise>() {
        return Some(o);
    }
    None
}

/// Adds the builders of this crate's ops. `Registry::global()` (used by ONNX import) is built
/// from the IR's ops only and cannot be extended, so a runtime that loads fused models builds
/// its own registry: `ops::register_all` then this.
pub fn register(r: &mut Registry) {
    r.register(DOMAIN, "FusedConv", fused_conv::build);
    r.register(DOMAIN, "FusedGemm", fused_matmul::build_gemm);
    r.register(DOMAIN, "FusedMatMul", fused_matmul::build_matmul);
    r.register(DOMAIN, "FusedElementwise", fused_elementwise::build);
}
