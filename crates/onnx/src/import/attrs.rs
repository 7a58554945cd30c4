//! Phase: AttributeProto -> Attribute (subgraphs are imported by the caller's closure).

use crate::proto::attribute_proto::AttributeType as AT;
use crate::proto::{AttributeProto, GraphProto, SparseTensorProto};
use crate::tensor::tensor_from_proto;
use crate::types::type_from_proto;
use crate::{OnnxError, Result};
use edgeopt_ir::{Attribute, Graph};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{DType, Tensor};
use std::path::Path;

/// The attribute's type, from `type` or, in old files that omit it, from the field that is set.
fn kind(a: &AttributeProto) -> AT {
    if let Some(t) = a.r#type.and_then(|t| AT::try_from(t).ok()) {
        if t != AT::Undefined {
            return t;
        }
    }
    if a.f.is_some() {
        AT::Float
    } else if a.i.is_some() {
        AT::Int
    } else if a.s.is_some() {
        AT::String
    } else if a.t.is_some() {
        AT::Tensor
    } else if a.g.is_some() {
        AT::Graph
    } else if a.sparse_tensor.is_some() {
        AT::SparseTensor
    } else if a.tp.is_some() {
        AT::TypeProto
    } else if !a.floats.is_empty() {
        AT::Floats
    } else if !a.ints.is_empty() {
        AT::Ints
    } else if !a.strings.is_empty() {
        AT::Strings
    } else if !a.tensors.is_empty() {
        AT::Tensors
    } else if !a.graphs.is_empty() {
        AT::Graphs
    } else {
        AT::Undefined
    }
}

pub fn convert(
    a: &AttributeProto,
    base_dir: Option<&Path>,
    subgraph: &mut dyn FnMut(&GraphProto) -> Result<Graph>,
) -> Result<Attribute> {
    let name = a.name.clone().unwrap_or_default();
    let missing = || {
        OnnxError::Model(format!(
            "attribute '{name}' declares a type but holds no value"
        ))
    };
    Ok(match kind(a) {
        AT::Float => Attribute::Float(a.f.ok_or_else(missing)?),
        AT::Int => Attribute::Int(a.i.ok_or_else(missing)?),
        AT::String => Attribute::String(a.s.clone().ok_or_else(missing)?),
        AT::Tensor => Attribute::Tensor(tensor_from_proto(
            a.t.as_ref().ok_or_else(missing)?,
            base_dir,
        )?),
        AT::Graph => Attribute::Graph(Box::new(subgraph(a.g.as_ref().ok_or_else(missing)?)?)),
        AT::SparseTensor => Attribute::SparseTensor(densify(
            a.sparse_tensor.as_ref().ok_or_else(missing)?,
            base_dir,
        )?),
        AT::TypeProto => Attribute::Type(type_from_proto(a.tp.as_ref().ok_or_else(missing)?)),
        AT::Floats => Attribute::Floats(a.floats.clone()),
        AT::Ints => Attribute::Ints(a.ints.clone()),
        AT::Strings => Attribute::Strings(a.strings.clone()),
        AT::Tensors => Attribute::Tensors(
            a.tensors
                .iter()
                .map(|t| tensor_from_proto(t, base_dir))
                .collect::<Result<_>>()?,
        ),
        AT::Graphs => {
            Attribute::Graphs(a.graphs.iter().map(&mut *subgraph).collect::<Result<_>>()?)
        }
        AT::SparseTensors | AT::TypeProtos | AT::Undefined => {
            return Err(OnnxError::Model(format!(
                "attribute '{name}' has an unsupported or missing type"
            )))
        }
    })
}

/// Turns a COO sparse tensor into a dense one (indices linear [NNZ] or coordinates [NNZ, rank]).
pub fn densify(sp: &SparseTensorProto, base_dir: Option<&Path>) -> Result<Tensor> {
    let values = tensor_from_proto(
        sp.values
            .as_ref()
            .ok_or_else(|| OnnxError::Model("sparse tensor has no values".into()))?,
        base_dir,
    )?;
    let name = sp
        .values
        .as_ref()
        .and_then(|v| v.name.clone())
        .unwrap_or_default();
    let bad = |r: String| OnnxError::Tensor {
        tensor: name.clone(),
        reason: r,
    };
    let dims: Vec<usize> = sp
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| bad(format!("negative dim {d}"))))
        .collect::<Result<_>>()?;
    let n = checked_numel(&dims).map_err(|e| bad(e.to_string()))?;
    let idx = match &sp.indices {
        Some(i) => tensor_from_proto(i, base_dir)?
            .to_i64_vec()
            .map_err(|e| bad(e.to_string()))?,
        None => Vec::new(),
    };
    let nnz = values.len();
    let strides = edgeopt_tensor::shape::strides(&dims);
    let linear: Vec<usize> = if idx.len() == nnz {
        idx.iter().map(|&i| i as usize).collect()
    } else if idx.len() == nnz * dims.len() {
        idx.chunks(dims.len().max(1))
            .map(|c| c.iter().zip(&strides).map(|(&i, &s)| i as usize * s).sum())
            .collect()
    } else {
        return Err(bad(format!("{} indices for {nnz} values", idx.len())));
    };
    if let Some(&bad_i) = linear.iter().find(|&&i| i >= n) {
        return Err(bad(format!(
            "index {bad_i} out of range for shape {dims:?}"
        )));
    }
    if values.dtype() == DType::String {
        let src = values.as_strings().map_err(|e| bad(e.to_string()))?;
        let mut out = vec![String::new(); n];
        for (k, &i) in linear.iter().enumerate() {
            out[i] = src[k].clone();
        }
        return Ok(Tensor::from_strings(dims, out)?);
    }
    let size = values.dtype().size_of();
    let src = values.as_bytes();
    let mut out = vec![0u8; n * size];
    for (k, &i) in linear.iter().enumerate() {
        out[i * size..(i + 1) * size].copy_from_slice(&src[k * size..(k + 1) * size]);
    }
    Ok(Tensor::from_bytes(
        values.dtype(),
        dims,
        bytes::Bytes::from(out),
    )?)
}
