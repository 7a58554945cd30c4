//! IR -> ONNX. Weights are written as zero-copy views; files are replaced atomically.

use crate::proto::attribute_proto::AttributeType as AT;
use crate::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto,
    TensorProto, ValueInfoProto,
};
use crate::tensor::tensor_to_proto;
use crate::types::type_to_proto;
use crate::{OnnxError, Result, DEFAULT_IR_VERSION};
use edgeopt_ir::{Attribute, Graph, Model, ValueId};
use prost::Message;
use std::io::Write;
use std::path::Path;

/// Export settings.
#[derive(Clone, Debug, Default)]
pub struct SaveOptions {
    /// Write initializers of at least `external_threshold` bytes to this file (next to the
    /// model) instead of inline. Required for models over protobuf's 2 GiB limit.
    pub external_data: Option<String>,
    pub external_threshold: usize,
    /// Override the default-domain opset written (the caller checks it is legal).
    pub opset: Option<i64>,
}

fn value_info(g: &Graph, id: ValueId) -> ValueInfoProto {
    let v = g.value(id);
    ValueInfoProto {
        name: Some(v.name.clone()),
        r#type: type_to_proto(&v.ty),
        doc_string: (!v.doc.is_empty()).then(|| v.doc.clone()),
        ..Default::default()
    }
}

fn attribute(name: &str, a: &Attribute) -> AttributeProto {
    let mut p = AttributeProto {
        name: Some(name.to_string()),
        ..Default::default()
    };
    let t = match a {
        Attribute::Float(v) => {
            p.f = Some(*v);
            AT::Float
        }
        Attribute::Int(v) => {
            p.i = Some(*v);
            AT::Int
        }
        Attribute::String(v) => {
            p.s = Some(v.clone());
            AT::String
        }
        Attribute::Tensor(t) => {
            p.t = Some(tensor_to_proto("", t));
            AT::Tensor
        }
        Attribute::SparseTensor(t) => {
            // Densified on import; written back dense.
            p.t = Some(tensor_to_proto("", t));
            AT::Tensor
        }
        Attribute::Graph(g) => {
            p.g = Some(graph_to_proto(g));
            AT::Graph
        }
        Attribute::Type(ty) => {
            p.tp = type_to_proto(ty);
            AT::TypeProto
        }
        Attribute::Floats(v) => {
            p.floats = v.clone();
            AT::Floats
        }
        Attribute::Ints(v) => {
            p.ints = v.clone();
            AT::Ints
        }
        Attribute::Strings(v) => {
            p.strings = v.clone();
            AT::Strings
        }
        Attribute::Tensors(v) => {
            p.tensors = v.iter().map(|t| tensor_to_proto("", t)).collect();
            AT::Tensors
        }
        Attribute::Graphs(v) => {
            p.graphs = v.iter().map(graph_to_proto).collect();
            AT::Graphs
        }
    };
    p.r#type = Some(t as i32);
    p
}

/// Converts one graph (and its subgraphs). Captured outer values are referenced by name.
pub fn graph_to_proto(g: &Graph) -> GraphProto {
    let name_of = |v: &Option<ValueId>| v.map(|v| g.value(v).name.clone()).unwrap_or_default();
    let nodes = g
        .nodes
        .iter()
        .map(|n| NodeProto {
            name: Some(n.name.clone()),
            op_type: Some(n.op_type().to_string()),
            domain: Some(n.op.domain().to_string()),
            input: trim_trailing(n.inputs.iter().map(name_of).collect()),
            output: trim_trailing(n.outputs.iter().map(name_of).collect()),
            attribute: n
                .op
                .attributes()
                .iter()
                .map(|(k, a)| attribute(k, a))
                .collect(),
            doc_string: (!n.doc.is_empty()).then(|| n.doc.clone()),
            ..Default::default()
        })
        .collect();
    GraphProto {
        name: Some(g.name.clone()),
        doc_string: (!g.doc.is_empty()).then(|| g.doc.clone()),
        node: nodes,
        initializer: g
            .initializers
            .iter()
            .map(|(id, t)| tensor_to_proto(&g.value(*id).name, t))
            .collect(),
        input: g.inputs.iter().map(|&i| value_info(g, i)).collect(),
        output: g.outputs.iter().map(|&o| value_info(g, o)).collect(),
        ..Default::default()
    }
}

/// Omitted optional inputs/outputs at the end are dropped; in the middle they stay "".
fn trim_trailing(mut v: Vec<String>) -> Vec<String> {
    while v.last().is_some_and(|s| s.is_empty()) {
        v.pop();
    }
    v
}

/// Builds the ModelProto (without external data).
pub fn model_to_proto(m: &Model, opts: &SaveOptions) -> ModelProto {
    let mut opsets: Vec<OperatorSetIdProto> = m
        .opsets
        .iter()
        .map(|(d, v)| OperatorSetIdProto {
            domain: Some(d.clone()),
            version: Some(*v),
        })
        .collect();
    if let Some(v) = opts.opset {
        for o in &mut opsets {
            if matches!(o.domain.as_deref(), Some("") | Some("ai.onnx") | None) {
                o.version = Some(v);
            }
        }
    }
    ModelProto {
        ir_version: Some(if m.ir_version > 0 {
            m.ir_version
        } else {
            DEFAULT_IR_VERSION
        }),
        opset_import: opsets,
        producer_name: Some("edgeopt".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        domain: (!m.domain.is_empty()).then(|| m.domain.clone()),
        model_version: (m.model_version != 0).then_some(m.model_version),
        doc_string: (!m.doc.is_empty()).then(|| m.doc.clone()),
        graph: Some(graph_to_proto(&m.graph)),
        metadata_props: m
            .metadata
            .iter()
            .map(|(k, v)| StringStringEntryProto {
                key: Some(k.clone()),
                value: Some(v.clone()),
            })
            .collect(),
        ..Default::default()
    }
}

/// Serializes a model held entirely in memory.
pub fn encode_model(m: &Model, opts: &SaveOptions) -> Result<Vec<u8>> {
    let mp = model_to_proto(m, opts);
    let len = mp.encoded_len();
    if len > i32::MAX as usize {
        return Err(OnnxError::Model(format!(
            "the model is {len} bytes, over protobuf's 2 GiB limit: save with external data"
        )));
    }
    Ok(mp.encode_to_vec())
}

/// Writes `bytes` to `path` atomically: a temp file in the same folder, synced, then renamed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |e| OnnxError::Io {
        path: path.to_path_buf(),
        error: e,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .and_then(|s| s.to_str())
        .unwrap_or("model.onnx");
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// Saves a model to `path` (and its external data file beside it, when asked).
pub fn save_model(m: &Model, path: &Path, opts: &SaveOptions) -> Result<()> {
    let mut mp = model_to_proto(m, opts);
    if let Some(data_name) = &opts.external_data {
        if Path::new(data_name).components().count() != 1 {
            return Err(OnnxError::Model(format!(
                "external data name '{data_name}' must be a plain file name"
            )));
        }
        let mut blob: Vec<u8> = Vec::new();
        if let Some(g) = mp.graph.as_mut() {
            for tp in &mut g.initializer {
                move_external(tp, data_name, opts.external_threshold, &mut blob);
            }
        }
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        write_atomic(&dir.join(data_name), &blob)?;
    }
    let len = mp.encoded_len();
    if len > i32::MAX as usize {
        return Err(OnnxError::Model(format!(
            "the model is {len} bytes, over protobuf's 2 GiB limit: use external data"
        )));
    }
    write_atomic(path, &mp.encode_to_vec())
}

fn move_external(tp: &mut TensorProto, data_name: &str, threshold: usize, blob: &mut Vec<u8>) {
    let Some(raw) = tp.raw_data.take() else {
        return;
    };
    if raw.len() < threshold.max(1) {
        tp.raw_data = Some(raw);
        return;
    }
    // 64-byte alignment keeps memory-mapped weights aligned for SIMD loads.
    while !blob.len().is_multiple_of(64) {
        blob.push(0);
    }
    let entry = |k: &str, v: String| StringStringEntryProto {
        key: Some(k.into()),
        value: Some(v),
    };
    tp.external_data = vec![
        entry("location", data_name.to_string()),
        entry("offset", blob.len().to_string()),
        entry("length", raw.len().to_string()),
    ];
    tp.data_location = Some(crate::proto::tensor_proto::DataLocation::External as i32);
    blob.extend_from_slice(&raw);
}
