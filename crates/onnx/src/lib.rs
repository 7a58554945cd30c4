//! edgeopt-onnx: ONNX in and out.
//!
//! Import runs in named phases (see `import/`): decode the memory-mapped file, read tensors
//! (inline, packed or external data, with paths confined to the model's folder), build graphs
//! (subgraphs and local functions included), collect every unsupported op in one error, sort
//! topologically and infer types. Export writes the IR back with weights as zero-copy views and
//! replaces the target file atomically.
//!
//! The protobuf types in `proto/onnx.rs` are generated from the vendored `proto/onnx.proto`
//! (onnx 1.23.2, the -ml variant) by `tools/gen-onnx-proto`; no protoc is needed to build.

mod error;
mod export;
mod import;
mod op_versions;
mod opset;
mod tensor;
mod types;
pub mod version_convert;

#[allow(clippy::all, missing_docs)]
pub mod proto {
    include!("proto/onnx.rs");
}

pub use error::{OnnxError, Result};
pub use export::{encode_model, save_model, write_atomic, SaveOptions};
pub use import::{decode_model, import_model, load_model, load_model_bytes, LoadOptions};
pub use opset::{definition_at, opset_change_conflicts};
pub use tensor::{tensor_from_proto, tensor_to_proto};
pub use types::{type_from_proto, type_to_proto};
pub use version_convert::{upgrade_blockers, upgrade_opset, ConvertReport};

/// Highest default-domain opset this build was written against.
pub const MAX_OPSET: i64 = 25;
/// IR version written by export when the source model has none.
pub const DEFAULT_IR_VERSION: i64 = 8;
