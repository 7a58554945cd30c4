//! Which opset changes are legal for a model: only between versions where none of its ops
//! changed definition (so re-declaring the opset changes no semantics).

use crate::op_versions::OP_VERSIONS;
use edgeopt_ir::Graph;

/// The version of `op`'s definition in effect at `opset` (`None` if unknown or not yet defined).
pub fn definition_at(op: &str, opset: i64) -> Option<i64> {
    let (_, vs) = OP_VERSIONS.iter().find(|(n, _)| *n == op)?;
    vs.iter().copied().filter(|&v| v <= opset).max()
}

/// Ops of `graph` (and its subgraphs) whose definition differs between opsets `from` and `to`.
pub fn opset_change_conflicts(graph: &Graph, from: i64, to: i64) -> Vec<String> {
    let mut out = Vec::new();
    collect(graph, from, to, &mut out);
    out.sort();
    out.dedup();
    out
}

fn collect(g: &Graph, from: i64, to: i64, out: &mut Vec<String>) {
    for n in &g.nodes {
        if n.op.domain().is_empty() {
            let (a, b) = (
                definition_at(n.op_type(), from),
                definition_at(n.op_type(), to),
            );
            if a.is_none() || a != b {
                out.push(match (a, b) {
                    (Some(a), Some(b)) => format!("{} (v{a} -> v{b})", n.op_type()),
                    _ => format!("{} (not defined at opset {to})", n.op_type()),
                });
            }
        }
        for sg in n.op.subgraphs() {
            collect(sg, from, to, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions() {
        assert_eq!(definition_at("Relu", 13), Some(13));
        assert_eq!(definition_at("Relu", 12), Some(6));
        assert_eq!(definition_at("Conv", 21), Some(11));
        assert_eq!(definition_at("NoSuchOp", 21), None);
    }
}
