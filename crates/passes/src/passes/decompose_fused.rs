//! decompose_fused: writes every `com.edgeopt` fused node back as standard ONNX nodes, for
//! exporting to tools that do not know the domain (ONNX Runtime, or edgeopt's own import,
//! which builds ops from `Registry::global()` only). Not part of any opt level.

use crate::ops::as_fused;
use crate::pass::{PassCtx, Rule};
use crate::rewrite::Editor;
use edgeopt_ir::{NodeId, Result};

pub struct DecomposeFused;

impl Rule for DecomposeFused {
    type Match = NodeId;

    fn name(&self) -> &'static str {
        "decompose_fused"
    }

    fn targets(&self) -> &'static [&'static str] {
        &["FusedConv", "FusedGemm", "FusedMatMul", "FusedElementwise"]
    }

    fn find(&self, ed: &Editor, n: NodeId, _ctx: &PassCtx) -> Option<NodeId> {
        as_fused(ed.node(n).op.as_ref()).map(|_| n)
    }

    fn apply(&self, ed: &mut Editor, n: NodeId, ctx: &PassCtx) -> Result<()> {
        let op = ed.node(n).op.clone();
        match as_fused(op.as_ref()) {
            Some(f) => f.decompose(ed, n, ctx.opset),
            None => Ok(()),
        }
    }
}
