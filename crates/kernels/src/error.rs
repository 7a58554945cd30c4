/// Errors from the kernel entry points. Each names the shapes or parameters at fault.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum KernelError {
    /// A, B and C do not form an `MxK * KxN -> MxN` product.
    #[error(
        "gemm: A is {}x{}, B is {}x{}, C is {}x{}; expected A MxK, B KxN and C MxN",
        a.0, a.1, b.0, b.1, c.0, c.1
    )]
    ShapeMismatch {
        /// Rows and columns of A.
        a: (usize, usize),
        /// Rows and columns of B.
        b: (usize, usize),
        /// Rows and columns of C.
        c: (usize, usize),
    },
    /// A product whose operands have more elements than `usize` counts (possible only with
    /// zero strides, which let a short slice stand for a huge matrix).
    #[error("gemm: A is {}x{} and B is {}x{}: too large to address", a.0, a.1, b.0, b.1)]
    TooLarge {
        /// Rows and columns of A.
        a: (usize, usize),
        /// Rows and columns of B.
        b: (usize, usize),
    },
    /// A matrix view reaches past the end of its slice.
    #[error(
        "a {rows}x{cols} matrix with strides ({row_stride}, {col_stride}) needs {needed} \
         elements, but its slice has {len}"
    )]
    SliceTooShort {
        /// Rows of the view.
        rows: usize,
        /// Columns of the view.
        cols: usize,
        /// Distance between consecutive rows, in elements.
        row_stride: usize,
        /// Distance between consecutive columns, in elements.
        col_stride: usize,
        /// Elements the view needs (may exceed `usize` on overflow).
        needed: u128,
        /// Length of the slice.
        len: usize,
    },
    /// A mutable view whose strides map two elements to one memory location.
    #[error(
        "a {rows}x{cols} output with strides ({row_stride}, {col_stride}) has overlapping \
         elements; use row_stride >= cols * col_stride or col_stride >= rows * row_stride"
    )]
    OverlappingOutput {
        /// Rows of the view.
        rows: usize,
        /// Columns of the view.
        cols: usize,
        /// Distance between consecutive rows, in elements.
        row_stride: usize,
        /// Distance between consecutive columns, in elements.
        col_stride: usize,
    },
    /// The bias does not have one value per row (or per column) of C.
    #[error("gemm: bias per {per} has {len} values, but C is {rows}x{cols}")]
    BiasLength {
        /// "row" or "column".
        per: &'static str,
        /// Values given.
        len: usize,
        /// Rows of C.
        rows: usize,
        /// Columns of C.
        cols: usize,
    },
    /// Activation parameters that make no sense (NaN, or Clip with min > max).
    #[error("activation {0} has invalid parameters")]
    BadActivation(String),
    /// Blocking sizes that are zero or not multiples of the register tile.
    #[error("blocking mc={mc} kc={kc} nc={nc} must be positive multiples of the {mr}x{nr} tile")]
    BadBlocking {
        /// Rows of A per block.
        mc: usize,
        /// Depth per block.
        kc: usize,
        /// Columns of B per block.
        nc: usize,
        /// Tile rows.
        mr: usize,
        /// Tile columns.
        nr: usize,
    },
    /// A [`crate::PackedB`] used with a table or product it was not packed for.
    #[error(
        "packed B is {k}x{n} in panels of {panel} columns (kernel {packed_for}), but this call \
         needs {want_k}x{want_n} in panels of {want_panel} (kernel {kernel})"
    )]
    PackedMismatch {
        /// Rows of the packed B.
        k: usize,
        /// Columns of the packed B.
        n: usize,
        /// Panel width it was packed with.
        panel: usize,
        /// Name of the table it was packed for.
        packed_for: &'static str,
        /// Rows the product needs.
        want_k: usize,
        /// Columns the product needs.
        want_n: usize,
        /// Panel width of the table used.
        want_panel: usize,
        /// Name of the table used.
        kernel: &'static str,
    },
    /// A convolution, pooling or other operator whose shape or arguments are invalid.
    #[error("{shape}: {reason}")]
    BadConv {
        /// The operator and its shape.
        shape: String,
        /// What is wrong.
        reason: String,
    },
    /// A caller-provided workspace shorter than the kernel needs.
    #[error("{kernel}: scratch has {len} values, expected at least {needed}")]
    ScratchTooShort {
        /// The kernel and its shape.
        kernel: String,
        /// Floats the kernel needs.
        needed: usize,
        /// Floats given.
        len: usize,
    },
}

/// The crate's result type.
pub type Result<T, E = KernelError> = std::result::Result<T, E>;
