//! edgeopt-hw: hardware co-design. Device profiles ([`profile`], TOML files in `profiles/`),
//! per-layer cost models (roofline per memory level, systolic tiles, FPGA initiation
//! intervals, GPU occupancy, and NNLS-fitted linear models for the calibrated host),
//! whole-model estimates ([`estimate`]) and host calibration ([`calibrate`]).
//!
//! The estimate runs on the optimized graph (`edgeopt_passes::optimize`), so fused bias and
//! activations cost no memory traffic, and extracts one [`layers::Layer`] per node: kernel
//! class, MACs, bytes of activations in/out and weights at the chosen precision and density.

pub mod calib_set;
pub mod calibrate;
pub mod canary;
pub mod estimate;
pub mod fpga;
pub mod gpu;
pub mod host;
pub mod host_nodes;
pub mod host_peak;
pub mod layers;
pub mod measure;
pub mod memory;
pub mod nnls;
pub mod node_timing;
pub mod profile;
pub mod residuals;
pub mod reuse;
pub mod roofline;
pub mod suite;
pub mod svg;
pub mod systolic;
pub mod validate;

pub use estimate::{estimate, Estimate, EstimateOptions, LayerEstimate};
pub use layers::{KernelClass, Layer};
pub use profile::{Precision, Profile};

use std::path::PathBuf;

/// This crate's errors.
#[derive(Debug, thiserror::Error)]
pub enum HwError {
    /// A profile failed to parse or validate; `origin` is its file.
    #[error("profile {origin}: {message}")]
    Profile { origin: String, message: String },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Ir(#[from] edgeopt_ir::IrError),
    #[error(transparent)]
    Pass(#[from] edgeopt_passes::PassError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, HwError>;
