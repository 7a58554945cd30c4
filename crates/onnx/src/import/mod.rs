//! ONNX import, in phases: decode -> opsets and functions -> graph (tensors, attributes,
//! subgraphs, ops) -> unsupported-op report -> topological sort -> type inference.

mod attrs;
mod functions;
mod graph;

use crate::proto::ModelProto;
use crate::{OnnxError, Result};
use bytes::Bytes;
use edgeopt_ir::{IrError, Model, Registry};
use graph::GraphImporter;
use prost::Message;
use std::collections::HashMap;
use std::path::Path;

/// Import settings.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Run whole-graph type inference after import (needed by cost reports and the planner).
    pub infer_types: bool,
    /// Op builders to use instead of `Registry::global()`, e.g. one that also knows edgeopt's
    /// fused or training ops (`edgeopt_passes::registry()`), so models edgeopt wrote load back.
    pub registry: Option<std::sync::Arc<Registry>>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            infer_types: true,
            registry: None,
        }
    }
}

/// Decodes a protobuf buffer. Weight bytes stay views into `bytes`.
pub fn decode_model(bytes: Bytes, origin: &Path) -> Result<ModelProto> {
    ModelProto::decode(bytes).map_err(|e| OnnxError::Decode {
        path: origin.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Loads a model file, memory-mapped so weights are not copied.
pub fn load_model(path: &Path, opts: &LoadOptions) -> Result<Model> {
    let io = |e| OnnxError::Io {
        path: path.to_path_buf(),
        error: e,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let bytes = if len == 0 {
        Bytes::new()
    } else {
        // SAFETY: read-only mapping of a model file we do not modify.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        Bytes::from_owner(map)
    };
    let mp = decode_model(bytes, path)?;
    let base = path.parent().map(|p| {
        if p.as_os_str().is_empty() {
            Path::new(".")
        } else {
            p
        }
    });
    import_model(&mp, base, opts).map_err(|e| match e {
        OnnxError::Model(m) => OnnxError::Model(format!("{}: {m}", path.display())),
        other => other,
    })
}

/// Loads a model from bytes in memory; external data is refused (there is no folder).
pub fn load_model_bytes(bytes: Vec<u8>, opts: &LoadOptions) -> Result<Model> {
    let mp = decode_model(Bytes::from(bytes), Path::new("<memory>"))?;
    import_model(&mp, None, opts)
}

/// Builds the IR from a decoded model. `base_dir` is where external data lives.
pub fn import_model(mp: &ModelProto, base_dir: Option<&Path>, opts: &LoadOptions) -> Result<Model> {
    let gp = mp.graph.as_ref().ok_or_else(|| {
        OnnxError::Model("the model has no graph (empty or not an ONNX file?)".into())
    })?;
    let mut opsets: HashMap<String, i64> = HashMap::new();
    for o in &mp.opset_import {
        let d =
            edgeopt_ir::registry::canonical_domain(o.domain.as_deref().unwrap_or("")).to_string();
        opsets.insert(d, o.version.unwrap_or(1));
    }
    if mp.opset_import.is_empty() {
        opsets.insert(String::new(), 1);
    }
    let functions = mp
        .functions
        .iter()
        .map(|f| {
            (
                (
                    f.domain.clone().unwrap_or_default(),
                    f.name.clone().unwrap_or_default(),
                ),
                f,
            )
        })
        .collect();
    let mut imp = GraphImporter {
        opsets: opsets.clone(),
        base_dir,
        functions,
        unsupported: Vec::new(),
        fresh: 0,
        registry: opts.registry.as_deref().unwrap_or(Registry::global()),
    };
    let graph = imp.import(gp, &[])?;
    if !imp.unsupported.is_empty() {
        return Err(OnnxError::Ir(IrError::Unsupported(imp.unsupported)));
    }
    let mut model = Model {
        graph,
        opsets: mp
            .opset_import
            .iter()
            .map(|o| (o.domain.clone().unwrap_or_default(), o.version.unwrap_or(1)))
            .collect(),
        ir_version: mp.ir_version.unwrap_or(0),
        producer_name: mp.producer_name.clone().unwrap_or_default(),
        producer_version: mp.producer_version.clone().unwrap_or_default(),
        domain: mp.domain.clone().unwrap_or_default(),
        model_version: mp.model_version.unwrap_or(0),
        doc: mp.doc_string.clone().unwrap_or_default(),
        metadata: mp
            .metadata_props
            .iter()
            .map(|p| {
                (
                    p.key.clone().unwrap_or_default(),
                    p.value.clone().unwrap_or_default(),
                )
            })
            .collect(),
    };
    if model.opsets.is_empty() {
        model.opsets.push((String::new(), 1));
    }
    if opts.infer_types {
        let opset = model.opset();
        edgeopt_ir::infer::infer_types(&mut model.graph, opset)?;
    }
    Ok(model)
}
