use edgeopt_ir::IrError;
use std::path::PathBuf;

/// Import and export errors. Each names the file, tensor, node or field at fault.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    // The io error is part of the message, not a `source`, so `{:#}` chains don't repeat it.
    #[error("cannot read or write '{path}': {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("'{path}' is not a valid ONNX model (protobuf decode failed: {reason}); the file may be truncated or corrupt")]
    Decode { path: PathBuf, reason: String },
    #[error("tensor '{tensor}': {reason}")]
    Tensor { tensor: String, reason: String },
    #[error("tensor '{tensor}': external data {reason}")]
    ExternalData { tensor: String, reason: String },
    #[error("{0}")]
    Model(String),
    #[error(transparent)]
    Ir(#[from] IrError),
}

pub type Result<T, E = OnnxError> = std::result::Result<T, E>;
