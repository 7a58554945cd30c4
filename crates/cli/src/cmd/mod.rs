pub mod bench;
pub mod calib_data;
pub mod compare;
pub mod convert;
pub mod distill;
pub mod estimate;
pub mod eval;
pub mod hw;
pub mod inspect;
pub mod profile;
pub mod prune;
pub mod qat;
pub mod quantize;
pub mod run;
pub mod train;
pub mod zoo;

use anyhow::{Context, Result};
use edgeopt_ir::Model;
use std::path::Path;

/// Loads a model for a subcommand, with the path in every error.
pub fn load(path: &Path) -> Result<Model> {
    edgeopt_onnx::load_model(path, &edgeopt_onnx::LoadOptions::default())
        .with_context(|| format!("loading {}", path.display()))
}

/// Loads a model, fixing the shapes of some inputs (`--shape x=1x3x224x224`) and sizes of
/// symbolic dims (`--dim N=1`) before type inference, so per-layer costs are concrete.
pub fn load_shaped(
    path: &Path,
    shapes: &std::collections::HashMap<String, Vec<usize>>,
    dims: &std::collections::HashMap<String, usize>,
) -> Result<Model> {
    if shapes.is_empty() && dims.is_empty() {
        return load(path);
    }
    let opts = edgeopt_onnx::LoadOptions {
        infer_types: false,
        ..Default::default()
    };
    let mut m = edgeopt_onnx::load_model(path, &opts)
        .with_context(|| format!("loading {}", path.display()))?;
    let feeds = edgeopt_ir::exec::feed_inputs(&m.graph);
    for (name, shape) in shapes {
        let id = feeds
            .iter()
            .copied()
            .find(|&v| &m.graph.value(v).name == name)
            .ok_or_else(|| anyhow::anyhow!("--shape: the model has no input '{name}'"))?;
        let dt = m
            .graph
            .value(id)
            .ty
            .dtype()
            .unwrap_or(edgeopt_tensor::DType::F32);
        m.graph.value_mut(id).ty = edgeopt_ir::ValueType::known(dt, shape);
    }
    for id in feeds {
        if let edgeopt_ir::ValueType::Tensor(t) = &mut m.graph.value_mut(id).ty {
            if let Some(s) = &mut t.shape {
                for d in s.iter_mut() {
                    if let edgeopt_tensor::Dim::Sym(name) = d {
                        if let Some(&v) = dims.get(name.as_str()) {
                            *d = edgeopt_tensor::Dim::Known(v);
                        }
                    }
                }
            }
        }
    }
    let opset = m.opset();
    edgeopt_ir::infer::infer_types(&mut m.graph, opset)
        .with_context(|| format!("inferring types of {}", path.display()))?;
    Ok(m)
}
