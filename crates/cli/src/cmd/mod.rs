pub mod convert;
pub mod inspect;
pub mod run;

use anyhow::{Context, Result};
use edgeopt_ir::Model;
use std::path::Path;

/// Loads a model for a subcommand, with the path in every error.
pub fn load(path: &Path) -> Result<Model> {
    edgeopt_onnx::load_model(path, &edgeopt_onnx::LoadOptions::default())
        .with_context(|| format!("loading {}", path.display()))
}
