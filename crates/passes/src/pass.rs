//! What a pass is. Most passes are [`Rule`]s in the style of ONNX Runtime's `rewrite_rule.h`:
//! the op types a match starts from, a cheap condition that reads the graph (`find`), then the
//! rewrite (`apply`); [`RulePass`] runs a rule over every node once per sweep.

use crate::rewrite::Editor;
use edgeopt_ir::{Model, NodeId, Result};

/// What passes may read besides the graph.
#[derive(Clone, Debug)]
pub struct PassCtx {
    /// The model's default-domain opset.
    pub opset: i64,
    /// Largest tensor (elements) constant folding may create.
    pub fold_limit: usize,
}

/// One graph transformation. `run` makes one sweep and returns the number of rewrites; the
/// pipeline repeats it until nothing changes.
pub trait Pass: Send + Sync {
    fn name(&self) -> &'static str;
    fn run(&self, model: &mut Model, ctx: &PassCtx) -> Result<usize>;
}

/// A local rewrite.
pub trait Rule: Send + Sync {
    /// What `find` hands to `apply`.
    type Match;
    fn name(&self) -> &'static str;
    /// Op types of the node a match starts from; empty for any.
    fn targets(&self) -> &'static [&'static str];
    /// The condition: `Some` when the rewrite applies at `n`. Must only match live nodes
    /// (`Editor::is_live`), so rewrites within one sweep never overlap.
    fn find(&self, ed: &Editor, n: NodeId, ctx: &PassCtx) -> Option<Self::Match>;
    fn apply(&self, ed: &mut Editor, m: Self::Match, ctx: &PassCtx) -> Result<()>;
}

/// Runs a [`Rule`] over the nodes present at the start of the sweep, in order.
pub struct RulePass<R>(pub R);

impl<R: Rule> Pass for RulePass<R> {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn run(&self, model: &mut Model, ctx: &PassCtx) -> Result<usize> {
        let mut ed = Editor::new(&mut model.graph);
        let targets = self.0.targets();
        let mut count = 0;
        for i in 0..ed.graph().nodes.len() {
            let n = NodeId(i as u32);
            if !ed.is_live(n) || !(targets.is_empty() || targets.contains(&ed.node(n).op_type())) {
                continue;
            }
            if let Some(m) = self.0.find(&ed, n, ctx) {
                self.0.apply(&mut ed, m, ctx)?;
                count += 1;
            }
        }
        ed.commit()?;
        sync_opsets(model);
        Ok(count)
    }
}

/// Declares every domain the graph's nodes use (at version 1 for a new one) and drops this
/// crate's domain once no node uses it, so exports stay valid.
pub fn sync_opsets(model: &mut Model) {
    let used: std::collections::BTreeSet<String> = model
        .graph
        .nodes
        .iter()
        .map(|n| n.op.domain().to_string())
        .filter(|d| !d.is_empty() && d != "ai.onnx")
        .collect();
    for d in &used {
        if !model.opsets.iter().any(|(od, _)| od == d) {
            model.opsets.push((d.clone(), 1));
        }
    }
    model
        .opsets
        .retain(|(d, _)| d != crate::ops::DOMAIN || used.contains(d));
}
