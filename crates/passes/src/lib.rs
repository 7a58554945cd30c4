//! edgeopt-passes: graph optimizations on the IR, and a pipeline that runs them.
//!
//! Design: every pass edits through [`rewrite::Editor`] (edits apply eagerly; commit keeps
//! graph-output names, drops dead nodes and initializers, re-sorts and checks the graph), so no
//! pass touches `Graph` fields directly. Most passes are [`pass::Rule`]s: target op types, a
//! condition, a rewrite. A [`pipeline::Pipeline`] is a list of passes built from an opt level
//! and a [`pipeline::Config`]; it reports per-pass timing and node counts.
//!
//! Fusion creates ops of domain `com.edgeopt` ([`ops`]): FusedConv, FusedGemm, FusedMatMul
//! and FusedElementwise. Their reference eval composes the IR's ops, so `exec::run_model`
//! checks every fusion. ONNX import builds ops from `Registry::global()`, which only knows the
//! IR's ops: a runtime that loads fused models uses [`registry`], and an export meant for
//! other tools runs the `decompose_fused` pass first.
//!
//! Scope: passes rewrite the main graph. Subgraphs (If/Loop/Scan bodies) are left as they
//! are, and values a subgraph reads by name are never bypassed or renamed.

pub mod ops;
pub mod pass;
pub mod passes;
pub mod pipeline;
pub mod rewrite;
#[doc(hidden)]
pub mod testing;

pub use pass::{Pass, PassCtx, Rule, RulePass};
pub use pipeline::{format_reports, Config, PassReport, Pipeline};

use edgeopt_ir::{IrError, Model, Registry, ValueType};
use edgeopt_tensor::Dim;
use std::path::PathBuf;

/// This crate's errors.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    /// A pass failed; the model is as it was before that pass.
    #[error("pass '{pass}': {source}")]
    Pass { pass: String, source: IrError },
    #[error("unknown pass '{0}' (known: {1})")]
    UnknownPass(String, String),
    #[error(transparent)]
    Ir(#[from] IrError),
    #[error("cannot write {path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// Adds the builders of this crate's fused ops to `r`.
pub fn register(r: &mut Registry) {
    ops::register(r);
}

/// A registry with every IR op and this crate's fused ops: what a runtime loading optimized
/// models builds ops with.
pub fn registry() -> Registry {
    let mut r = Registry::default();
    edgeopt_ir::ops::register_all(&mut r);
    register(&mut r);
    r
}

/// Runs the passes of `level` with the default configuration.
pub fn optimize(model: &mut Model, level: u8) -> Result<Vec<PassReport>, PassError> {
    Pipeline::new(Config {
        opt_level: level,
        ..Config::default()
    })?
    .run(model)
}

/// Fixes the shapes of graph inputs (by name) and re-infers types, so shape computations
/// become static for `simplify_shapes`. Errors name an unknown input or a rank mismatch.
pub fn specialize_inputs(model: &mut Model, shapes: &[(&str, &[usize])]) -> Result<(), PassError> {
    let g = &mut model.graph;
    for (name, shape) in shapes {
        let id = g
            .inputs
            .iter()
            .copied()
            .find(|&i| g.value(i).name == *name)
            .ok_or_else(|| IrError::Graph(format!("the model has no input '{name}'")))?;
        let v = g.value_mut(id);
        let dtype = v.ty.dtype();
        if let Some(r) = v.ty.shape().map(|s| s.len()).filter(|&r| r != shape.len()) {
            return Err(IrError::Graph(format!(
                "input '{name}' has rank {r}, the given shape {shape:?} has rank {}",
                shape.len()
            ))
            .into());
        }
        let dims = shape.iter().map(|&d| Dim::Known(d)).collect();
        v.ty = ValueType::Tensor(edgeopt_ir::TensorType {
            dtype,
            shape: Some(dims),
        });
    }
    let opset = model.opset();
    edgeopt_ir::infer::infer_types(&mut model.graph, opset)?;
    Ok(())
}
