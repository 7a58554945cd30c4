use crate::DType;

/// Errors from building or viewing tensors. Each names the shapes or types involved.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum TensorError {
    #[error("tensor of shape {shape:?} needs {expected} elements, got {got}")]
    ElementCount {
        shape: Vec<usize>,
        expected: usize,
        got: usize,
    },
    #[error("tensor is {actual}, but {expected} was requested")]
    DTypeMismatch { expected: DType, actual: DType },
    #[error("shape {shape:?} has {elements} elements, over the limit of {limit}")]
    TooLarge {
        shape: Vec<usize>,
        elements: u128,
        limit: usize,
    },
    #[error("buffer of {len} bytes is not aligned or sized for {dtype}")]
    BadBuffer { dtype: DType, len: usize },
    #[error("bool tensor holds byte {0}, expected 0 or 1")]
    BadBool(u8),
    #[error("cannot reshape {from:?} to {to:?}")]
    Reshape { from: Vec<usize>, to: Vec<usize> },
    #[error("shapes {a:?} and {b:?} do not broadcast")]
    Broadcast { a: Vec<usize>, b: Vec<usize> },
    #[error("axis {axis} out of range for rank {rank}")]
    Axis { axis: i64, rank: usize },
    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = TensorError> = std::result::Result<T, E>;
