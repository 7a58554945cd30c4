use edgeopt_tensor::TensorError;

/// IR errors. Messages name the node, op, value and shapes involved so a user can act on them.
#[derive(Debug, thiserror::Error)]
pub enum IrError {
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// A problem found inside one op (bad attribute, wrong input rank, ...).
    #[error("{0}")]
    Op(String),
    /// An op error with the node that raised it.
    #[error("node '{node}' ({op_type}): {source}")]
    Node {
        node: String,
        op_type: String,
        source: Box<IrError>,
    },
    /// Every unsupported (node, op) of a model, reported together.
    #[error("{}", unsupported_message(.0))]
    Unsupported(Vec<(String, String)>),
    #[error("invalid graph: {0}")]
    Graph(String),
}

/// "unsupported ops: Foo (3 nodes: 'a', 'b', 'c'), Bar (1 node: 'd')", at most 5 names per op.
fn unsupported_message(list: &[(String, String)]) -> String {
    let mut by_op: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (node, op) in list {
        by_op.entry(op.as_str()).or_default().push(node.as_str());
    }
    let parts: Vec<String> = by_op
        .iter()
        .map(|(op, nodes)| {
            let shown: Vec<String> = nodes
                .iter()
                .filter(|n| !n.is_empty())
                .take(5)
                .map(|n| format!("'{n}'"))
                .collect();
            let more = if nodes.len() > 5 { ", ..." } else { "" };
            let noun = if nodes.len() == 1 { "node" } else { "nodes" };
            if shown.is_empty() {
                op.to_string()
            } else {
                format!("{op} ({} {noun}: {}{more})", nodes.len(), shown.join(", "))
            }
        })
        .collect();
    format!(
        "unsupported op{}: {}",
        if by_op.len() > 1 { "s" } else { "" },
        parts.join(", ")
    )
}

pub type Result<T, E = IrError> = std::result::Result<T, E>;

/// Returns early with an [`IrError::Op`] built by `format!`.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => { return Err($crate::IrError::Op(format!($($arg)*))) };
}

/// Checks a condition or returns an [`IrError::Op`] built by `format!`.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => { if !$cond { $crate::bail!($($arg)*) } };
}
