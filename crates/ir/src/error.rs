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
    #[error("unsupported op{}: {}", if .0.len() > 1 { "s" } else { "" }, .0.iter().map(|(n, o)| format!("'{n}' ({o})")).collect::<Vec<_>>().join(", "))]
    Unsupported(Vec<(String, String)>),
    #[error("invalid graph: {0}")]
    Graph(String),
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
