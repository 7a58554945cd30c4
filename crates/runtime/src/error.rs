//! The runtime's error type.

/// Everything that can go wrong while building or running a session.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Ir(#[from] edgeopt_ir::IrError),
    #[error(transparent)]
    Pass(#[from] edgeopt_passes::PassError),
    #[error(transparent)]
    Onnx(#[from] edgeopt_onnx::OnnxError),
    #[error(transparent)]
    Tensor(#[from] edgeopt_tensor::TensorError),
    #[error(transparent)]
    Kernel(#[from] edgeopt_kernels::KernelError),
    /// Inputs given to `run` that do not fit the model.
    #[error("{0}")]
    Input(String),
    /// A node failed to lower or to run.
    #[error("node '{node}' ({op_type}): {msg}")]
    Node {
        node: String,
        op_type: String,
        msg: String,
    },
    /// Anything else, with its explanation.
    #[error("{0}")]
    Other(String),
}

/// The runtime's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// An [`Error::Other`] from a format string.
#[macro_export]
macro_rules! rt_bail {
    ($($t:tt)*) => { return Err($crate::Error::Other(format!($($t)*))) };
}
