//! eliminate_dead_nodes: removes nodes none of whose outputs is read (by a node, a subgraph or
//! as a graph output), walking backwards so a dead chain goes in one sweep. Unused
//! initializers are dropped when the edit commits.

use crate::pass::{Pass, PassCtx};
use crate::rewrite::Editor;
use edgeopt_ir::{Model, NodeId, Result};

pub struct EliminateDeadNodes;

impl Pass for EliminateDeadNodes {
    fn name(&self) -> &'static str {
        "eliminate_dead_nodes"
    }

    fn run(&self, model: &mut Model, _ctx: &PassCtx) -> Result<usize> {
        let g = &model.graph;
        let mut reads = vec![0usize; g.values.len()];
        for v in g.outputs.iter().chain(&g.captures) {
            reads[v.0 as usize] += 1;
        }
        for n in &g.nodes {
            for v in n.inputs.iter().flatten().chain(&n.implicit_inputs) {
                reads[v.0 as usize] += 1;
            }
        }
        let mut ed = Editor::new(&mut model.graph);
        let mut count = 0;
        for i in (0..ed.graph().nodes.len()).rev() {
            let n = NodeId(i as u32);
            let node = ed.node(n);
            if node
                .outputs
                .iter()
                .flatten()
                .any(|v| reads[v.0 as usize] > 0)
            {
                continue;
            }
            for v in node.inputs.iter().flatten().chain(&node.implicit_inputs) {
                reads[v.0 as usize] = reads[v.0 as usize].saturating_sub(1);
            }
            ed.remove_node(n);
            count += 1;
        }
        ed.commit()?;
        Ok(count)
    }
}
