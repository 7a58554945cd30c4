//! Reading a node's attributes generically (from its ONNX export form), so pruning does not
//! depend on each op's Rust struct.

use edgeopt_ir::{Attribute, Node};

/// Integer attribute `name` of `node`, if set.
pub(crate) fn int(node: &Node, name: &str) -> Option<i64> {
    node.op
        .attributes()
        .into_iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, a)| match a {
            Attribute::Int(v) => Some(v),
            _ => None,
        })
}

/// Integer-list attribute `name` of `node`, if set.
pub(crate) fn ints(node: &Node, name: &str) -> Option<Vec<i64>> {
    node.op
        .attributes()
        .into_iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, a)| match a {
            Attribute::Ints(v) => Some(v),
            _ => None,
        })
}
