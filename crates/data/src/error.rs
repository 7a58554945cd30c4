use edgeopt_tensor::TensorError;

/// Every way loading data can fail. Messages name the file (or dataset), the index and shapes.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A malformed or unsupported file; `what` names the file (and entry).
    #[error("{what}: {msg}")]
    Format { what: String, msg: String },
    /// A NaN or infinite value; `index` is the flat element index (or the row for CSV).
    #[error("{what}: non-finite value {value} at {index}")]
    NonFinite {
        what: String,
        index: String,
        value: f64,
    },
    /// Shapes or counts that do not fit together.
    #[error("{0}")]
    Shape(String),
    /// A bad argument (batch size 0, a split fraction outside [0, 1], ...).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Tensor(#[from] TensorError),
}

pub type Result<T, E = DataError> = std::result::Result<T, E>;

pub(crate) fn format_err(what: &str, msg: impl Into<String>) -> DataError {
    DataError::Format {
        what: what.to_string(),
        msg: msg.into(),
    }
}

pub(crate) fn read_file(path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| DataError::Io {
        path: path.display().to_string(),
        source,
    })
}
