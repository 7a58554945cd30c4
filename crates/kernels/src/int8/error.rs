/// Errors from the int8 kernels; each message names the operands and shapes at fault.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum QError {
    /// Operands whose shapes, strides or lengths do not fit together.
    #[error("int8 {op}: {detail}")]
    Shape {
        /// The kernel entry point.
        op: &'static str,
        /// What does not fit, with the shapes.
        detail: String,
    },
    /// A scale, zero point or other parameter out of its domain.
    #[error("int8 {op}: {detail}")]
    Param {
        /// The kernel entry point.
        op: &'static str,
        /// The parameter and its value.
        detail: String,
    },
}

/// The int8 kernels' result type.
pub type QResult<T> = std::result::Result<T, QError>;

pub(crate) fn shape_err(op: &'static str, detail: String) -> QError {
    QError::Shape { op, detail }
}

pub(crate) fn param_err(op: &'static str, detail: String) -> QError {
    QError::Param { op, detail }
}

/// Elements a `rows x cols` view with strides `(rs, cs)` needs, or `None` on overflow.
pub(crate) fn view_len(rows: usize, cols: usize, rs: usize, cs: usize) -> Option<usize> {
    if rows == 0 || cols == 0 {
        return Some(0);
    }
    (rows - 1)
        .checked_mul(rs)?
        .checked_add((cols - 1).checked_mul(cs)?)?
        .checked_add(1)
}
