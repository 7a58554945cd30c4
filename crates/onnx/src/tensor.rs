//! TensorProto <-> Tensor. Raw data stays a view into the decoded buffer (memory-mapped file);
//! external data is read from files confined to the model's folder.

use crate::proto::TensorProto;
use crate::{OnnxError, Result};
use bytes::Bytes;
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{DType, Tensor};
use std::path::{Component, Path};

fn err(tp: &TensorProto, reason: impl Into<String>) -> OnnxError {
    OnnxError::Tensor {
        tensor: tp.name.clone().unwrap_or_default(),
        reason: reason.into(),
    }
}

/// Unpacks sub-byte elements (LSB first) into one byte per element.
fn unpack(packed: &[u8], bits: usize, n: usize) -> Vec<u8> {
    let per = 8 / bits;
    let mask = ((1u16 << bits) - 1) as u8;
    (0..n)
        .map(|i| (packed[i / per] >> ((i % per) * bits)) & mask)
        .collect()
}

/// Packs one-byte elements into sub-byte codes (LSB first).
fn pack(codes: &[u8], bits: usize) -> Vec<u8> {
    let per = 8 / bits;
    let mask = ((1u16 << bits) - 1) as u8;
    let mut out = vec![0u8; codes.len().div_ceil(per)];
    for (i, &c) in codes.iter().enumerate() {
        out[i / per] |= (c & mask) << ((i % per) * bits);
    }
    out
}

fn dims(tp: &TensorProto) -> Result<Vec<usize>> {
    let shape: Vec<usize> = tp
        .dims
        .iter()
        .map(|&d| {
            usize::try_from(d)
                .map_err(|_| err(tp, format!("negative dimension {d} in {:?}", tp.dims)))
        })
        .collect::<Result<_>>()?;
    checked_numel(&shape).map_err(|e| err(tp, e.to_string()))?;
    Ok(shape)
}

/// Reads a tensor. `base_dir` is the model's folder, used for external data (`None` refuses it).
pub fn tensor_from_proto(tp: &TensorProto, base_dir: Option<&Path>) -> Result<Tensor> {
    let code = tp.data_type.unwrap_or(0);
    let dtype = DType::from_onnx_code(code)
        .ok_or_else(|| err(tp, format!("unsupported data type {code}")))?;
    let shape = dims(tp)?;
    let n: usize = shape.iter().product();
    if tp.data_location == Some(crate::proto::tensor_proto::DataLocation::External as i32) {
        let raw = read_external(tp, base_dir)?;
        return from_raw(tp, dtype, shape, n, raw);
    }
    if let Some(raw) = &tp.raw_data {
        return from_raw(tp, dtype, shape, n, raw.clone());
    }
    let bad = |have: usize| {
        err(
            tp,
            format!(
                "shape {:?} needs {n} elements, the data holds {have}",
                tp.dims
            ),
        )
    };
    let t = match dtype {
        DType::String => {
            if tp.string_data.len() != n {
                return Err(bad(tp.string_data.len()));
            }
            let s = tp
                .string_data
                .iter()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .collect();
            Ok(Tensor::from_strings(shape, s)?)
        }
        DType::F32 => {
            check_len(&tp.float_data, n, bad).and_then(|v| Ok(Tensor::from_vec(shape, v)?))
        }
        DType::F64 => {
            check_len(&tp.double_data, n, bad).and_then(|v| Ok(Tensor::from_vec(shape, v)?))
        }
        DType::I64 => {
            check_len(&tp.int64_data, n, bad).and_then(|v| Ok(Tensor::from_vec(shape, v)?))
        }
        DType::U64 => {
            check_len(&tp.uint64_data, n, bad).and_then(|v| Ok(Tensor::from_vec(shape, v)?))
        }
        DType::U32 => {
            let v = check_len(&tp.uint64_data, n, bad)?;
            Ok(Tensor::from_vec(
                shape,
                v.iter().map(|&x| x as u32).collect::<Vec<u32>>(),
            )?)
        }
        DType::I32 => {
            check_len(&tp.int32_data, n, bad).and_then(|v| Ok(Tensor::from_vec(shape, v)?))
        }
        DType::U4 | DType::I4 | DType::F4E2M1 | DType::U2 | DType::I2 => {
            let bits = dtype.packed_bits();
            let need = (n * bits).div_ceil(8);
            if tp.int32_data.len() * 8 / bits < n {
                return Err(bad(tp.int32_data.len() * 8 / bits));
            }
            // Each int32 holds 8/bits elements, packed like raw_data bytes.
            let bytes: Vec<u8> = tp.int32_data.iter().map(|&v| v as u8).collect();
            let codes = unpack(&bytes[..need], bits, n);
            Ok(Tensor::from_bytes(dtype, shape, Bytes::from(codes))?)
        }
        _ => {
            // Everything else narrower than 32 bits travels one element per int32.
            let v = check_len(&tp.int32_data, n, bad)?;
            let mut raw = Vec::with_capacity(n * dtype.size_of());
            for x in v {
                match dtype.size_of() {
                    2 => raw.extend_from_slice(&(x as u16).to_le_bytes()),
                    _ => raw.push(x as u8),
                }
            }
            if dtype == DType::Bool {
                raw.iter_mut().for_each(|b| *b = (*b != 0) as u8);
            }
            Ok(Tensor::from_bytes(dtype, shape, Bytes::from(raw))?)
        }
    };
    t.map_err(|e: OnnxError| match e {
        OnnxError::Tensor { .. } => e,
        other => err(tp, other.to_string()),
    })
}

fn check_len<T: Clone>(v: &[T], n: usize, bad: impl Fn(usize) -> OnnxError) -> Result<Vec<T>> {
    if v.len() != n {
        return Err(bad(v.len()));
    }
    Ok(v.to_vec())
}

impl From<edgeopt_tensor::TensorError> for OnnxError {
    fn from(e: edgeopt_tensor::TensorError) -> Self {
        OnnxError::Model(e.to_string())
    }
}

fn from_raw(
    tp: &TensorProto,
    dtype: DType,
    shape: Vec<usize>,
    n: usize,
    raw: Bytes,
) -> Result<Tensor> {
    if dtype == DType::String {
        return Err(err(tp, "string tensors cannot use raw_data"));
    }
    let bits = dtype.packed_bits();
    let need = (n * bits).div_ceil(8);
    if raw.len() != need {
        return Err(err(
            tp,
            format!(
                "shape {:?} of {dtype} needs {need} bytes, raw data has {}",
                tp.dims,
                raw.len()
            ),
        ));
    }
    let raw = if bits < 8 {
        Bytes::from(unpack(&raw, bits, n))
    } else {
        raw
    };
    let raw = if dtype == DType::Bool && raw.iter().any(|&b| b > 1) {
        Bytes::from(raw.iter().map(|&b| (b != 0) as u8).collect::<Vec<u8>>())
    } else {
        raw
    };
    Tensor::from_bytes(dtype, shape, raw).map_err(|e| err(tp, e.to_string()))
}

/// Resolves and reads external data, refusing absolute paths and paths that leave `base`.
fn read_external(tp: &TensorProto, base_dir: Option<&Path>) -> Result<Bytes> {
    let name = tp.name.clone().unwrap_or_default();
    let xerr = |reason: String| OnnxError::ExternalData {
        tensor: name.clone(),
        reason,
    };
    let key = |k: &str| {
        tp.external_data
            .iter()
            .find(|e| e.key.as_deref() == Some(k))
            .and_then(|e| e.value.clone())
    };
    let location = key("location").ok_or_else(|| xerr("has no 'location'".into()))?;
    let base = base_dir.ok_or_else(|| {
        xerr(format!(
            "'{location}' cannot be read: the model was not loaded from a file"
        ))
    })?;
    let rel = Path::new(&location);
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(xerr(format!(
            "location '{location}' is absolute or escapes the model's folder; refused"
        )));
    }
    let path = base.join(rel);
    // Symlinks could still point outside: compare canonical paths.
    let (canon_base, canon) = (
        base.canonicalize()
            .map_err(|e| xerr(format!("folder '{}': {e}", base.display())))?,
        path.canonicalize()
            .map_err(|e| xerr(format!("'{}': {e}", path.display())))?,
    );
    if !canon.starts_with(&canon_base) {
        return Err(xerr(format!(
            "location '{location}' resolves outside the model's folder; refused"
        )));
    }
    let parse = |k: &str| -> Result<Option<u64>> {
        key(k)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| xerr(format!("'{k}' is not a number: '{v}'")))
            })
            .transpose()
    };
    let offset = parse("offset")?.unwrap_or(0);
    let file =
        std::fs::File::open(&canon).map_err(|e| xerr(format!("'{}': {e}", canon.display())))?;
    let flen = file.metadata().map_err(|e| xerr(e.to_string()))?.len();
    let length = match parse("length")? {
        Some(l) => l,
        None => flen.saturating_sub(offset),
    };
    if offset.checked_add(length).is_none_or(|end| end > flen) {
        return Err(xerr(format!(
            "offset {offset} + length {length} is past the end of '{location}' ({flen} bytes)"
        )));
    }
    if length == 0 {
        return Ok(Bytes::new());
    }
    // SAFETY: the mapping is read-only; a concurrent writer truncating the file is outside our
    // model of well-behaved inputs, as with every mmap-based loader.
    let map = unsafe {
        memmap2::MmapOptions::new()
            .offset(offset)
            .len(length as usize)
            .map(&file)
    }
    .map_err(|e| xerr(format!("cannot map '{location}': {e}")))?;
    Ok(Bytes::from_owner(map))
}

/// Writes a tensor; pod data is a zero-copy view of the tensor's storage.
pub fn tensor_to_proto(name: &str, t: &Tensor) -> TensorProto {
    let mut tp = TensorProto {
        name: Some(name.to_string()),
        dims: t.shape().iter().map(|&d| d as i64).collect(),
        data_type: Some(t.dtype().onnx_code()),
        ..Default::default()
    };
    match t.dtype() {
        DType::String => {
            tp.string_data = t
                .as_strings()
                .map(|s| s.iter().map(|x| x.as_bytes().to_vec()).collect())
                .unwrap_or_default()
        }
        d if d.packed_bits() < 8 => {
            tp.raw_data = Some(Bytes::from(pack(t.as_bytes(), d.packed_bits())))
        }
        _ => tp.raw_data = t.bytes().cloned(),
    }
    tp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_byte_packing_round_trips() {
        let codes = vec![1u8, 15, 7, 8, 3];
        assert_eq!(unpack(&pack(&codes, 4), 4, 5), codes);
        let codes2 = vec![1u8, 3, 0, 2, 1];
        assert_eq!(unpack(&pack(&codes2, 2), 2, 5), codes2);
    }

    #[test]
    fn raw_size_mismatch_names_the_tensor() {
        let tp = TensorProto {
            name: Some("w".into()),
            dims: vec![2, 2],
            data_type: Some(1),
            raw_data: Some(Bytes::from(vec![0u8; 12])),
            ..Default::default()
        };
        let e = tensor_from_proto(&tp, None).unwrap_err().to_string();
        assert!(e.contains("'w'") && e.contains("16 bytes"), "{e}");
    }

    #[test]
    fn huge_declared_shape_is_refused_without_allocating() {
        let tp = TensorProto {
            name: Some("big".into()),
            dims: vec![1_000_000, 1_000_000],
            data_type: Some(1),
            ..Default::default()
        };
        let e = tensor_from_proto(&tp, None).unwrap_err().to_string();
        assert!(e.contains("'big'") && e.contains("limit"), "{e}");
    }

    #[test]
    fn escaping_external_paths_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for loc in ["../secret.bin", "/etc/passwd", "a/../../x"] {
            let tp = TensorProto {
                name: Some("w".into()),
                dims: vec![1],
                data_type: Some(1),
                data_location: Some(1),
                external_data: vec![crate::proto::StringStringEntryProto {
                    key: Some("location".into()),
                    value: Some(loc.into()),
                }],
                ..Default::default()
            };
            let e = tensor_from_proto(&tp, Some(dir.path()))
                .unwrap_err()
                .to_string();
            assert!(e.contains("refused"), "{loc}: {e}");
        }
    }
}
