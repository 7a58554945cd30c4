//! TypeProto <-> ValueType.

use crate::proto::tensor_shape_proto::{dimension, Dimension};
use crate::proto::type_proto::{self, Value as TV};
use crate::proto::{TensorShapeProto, TypeProto};
use edgeopt_ir::{TensorType, ValueType};
use edgeopt_tensor::{DType, Dim};

fn shape_from(s: &Option<TensorShapeProto>) -> Option<Vec<Dim>> {
    s.as_ref().map(|s| {
        s.dim
            .iter()
            .map(|d| match &d.value {
                Some(dimension::Value::DimValue(v)) if *v >= 0 => Dim::Known(*v as usize),
                Some(dimension::Value::DimParam(p)) if !p.is_empty() => Dim::Sym(p.clone()),
                _ => Dim::Unknown,
            })
            .collect()
    })
}

fn shape_to(s: &Option<Vec<Dim>>) -> Option<TensorShapeProto> {
    s.as_ref().map(|s| TensorShapeProto {
        dim: s
            .iter()
            .map(|d| Dimension {
                denotation: None,
                value: match d {
                    Dim::Known(v) => Some(dimension::Value::DimValue(*v as i64)),
                    Dim::Sym(p) => Some(dimension::Value::DimParam(p.clone())),
                    Dim::Unknown => None,
                },
            })
            .collect(),
    })
}

/// Reads a value type; map and opaque types (not used by edge models) become `Unknown`.
pub fn type_from_proto(t: &TypeProto) -> ValueType {
    match &t.value {
        Some(TV::TensorType(tt)) => ValueType::Tensor(TensorType {
            dtype: tt.elem_type.and_then(DType::from_onnx_code),
            shape: shape_from(&tt.shape),
        }),
        Some(TV::SparseTensorType(tt)) => ValueType::Tensor(TensorType {
            dtype: tt.elem_type.and_then(DType::from_onnx_code),
            shape: shape_from(&tt.shape),
        }),
        Some(TV::SequenceType(s)) => ValueType::Sequence(Box::new(
            s.elem_type
                .as_deref()
                .map(type_from_proto)
                .unwrap_or_default(),
        )),
        Some(TV::OptionalType(s)) => ValueType::Optional(Box::new(
            s.elem_type
                .as_deref()
                .map(type_from_proto)
                .unwrap_or_default(),
        )),
        _ => ValueType::Unknown,
    }
}

/// Writes a value type; `Unknown` becomes `None` (ONNX allows untyped intermediate values).
pub fn type_to_proto(t: &ValueType) -> Option<TypeProto> {
    let value = match t {
        ValueType::Tensor(tt) => TV::TensorType(type_proto::Tensor {
            elem_type: Some(tt.dtype.map(|d| d.onnx_code()).unwrap_or(0)),
            shape: shape_to(&tt.shape),
        }),
        ValueType::Sequence(e) => TV::SequenceType(Box::new(type_proto::Sequence {
            elem_type: type_to_proto(e).map(Box::new),
        })),
        ValueType::Optional(e) => TV::OptionalType(Box::new(type_proto::Optional {
            elem_type: type_to_proto(e).map(Box::new),
        })),
        ValueType::Unknown => return None,
    };
    Some(TypeProto {
        denotation: None,
        value: Some(value),
    })
}
