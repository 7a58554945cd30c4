//! edgeopt-tensor: the data types shared by every edgeopt crate.
//!
//! A [`Tensor`] is immutable and cheap to clone: its storage is reference-counted bytes that may
//! be a view into a memory-mapped model file, so large weights are never copied on load.
//! Sub-byte and 8-bit float types are kept unpacked, one element per byte.

mod dtype;
mod elem;
mod error;
pub mod shape;
mod tensor;

pub use dtype::DType;
pub use elem::{Elem, Numeric};
pub use error::{Result, TensorError};
pub use half::{bf16, f16};
pub use shape::{Dim, SymShape};
pub use tensor::Tensor;
