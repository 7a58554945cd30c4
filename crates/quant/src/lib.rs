//! edgeopt-quant: post-training quantization of ONNX models.
//!
//! - [`quantize_static`]: calibrate activation ranges on samples ([`histogram::Method`]: min/max,
//!   percentile, entropy, MSE) and write a QDQ model in ONNX Runtime's format
//!   ([`plan`] decides what is quantized, [`qdq`] rewrites).
//! - [`dynamic::quantize_dynamic`]: int8 weights, activations quantized at run time
//!   (DynamicQuantizeLinear + MatMulInteger), for MatMul/Gemm-heavy models.
//! - [`weight_only`]: fp16 weights, int4 blockwise weights.
//! - [`report`]: per-tensor SQNR / cosine against the float model, output error, top-1
//!   agreement; [`fallback`] keeps the most sensitive layers in float until a target is met.
//!
//! Models run through an [`engine::Engine`]: the fast runtime ([`Fast`]) or the IR's reference
//! executor ([`Reference`]).

pub mod bias_correct;
pub mod build;
pub mod calibrate;
pub mod dynamic;
pub mod engine;
pub mod equalize;
pub mod fallback;
pub mod fold_affine;
pub mod histogram;
pub mod params;
pub mod plan;
pub mod qdq;
pub mod report;
mod static_quant;
pub mod weight_only;
pub mod weights;

pub use engine::{Engine, Fast, Reference, Runner};
pub use histogram::Method;
pub use params::{QParams, QType};
pub use plan::Selection;
pub use static_quant::{
    calibrate, equalize_with_data, preprocess, preprocess_with, quantize_static,
    quantize_with_stats, Equalize, Prep, StaticConfig, StaticResult,
};

/// This crate's errors.
#[derive(Debug, thiserror::Error)]
pub enum QuantError {
    /// Calibration or evaluation data is unusable (names the sample and input).
    #[error("{0}")]
    Data(String),
    /// Options that cannot apply to this model.
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Ir(#[from] edgeopt_ir::IrError),
    #[error(transparent)]
    Tensor(#[from] edgeopt_tensor::TensorError),
    #[error(transparent)]
    Pass(#[from] edgeopt_passes::PassError),
    /// The runtime failed to prepare or run a model.
    #[error("{0}")]
    Engine(String),
}

pub type Result<T> = std::result::Result<T, QuantError>;
