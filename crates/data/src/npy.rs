//! NumPy `.npy` (format 1.0/2.0/3.0) reading and writing, and `.npz` archives of them.

use crate::error::{format_err, read_file, DataError, Result};
use bytes::Bytes;
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{DType, Tensor};
use std::io::{Read, Write};
use std::path::Path;

fn descr(d: DType) -> Option<&'static str> {
    Some(match d {
        DType::F32 => "<f4",
        DType::F64 => "<f8",
        DType::F16 => "<f2",
        DType::I8 => "|i1",
        DType::U8 => "|u1",
        DType::I16 => "<i2",
        DType::U16 => "<u2",
        DType::I32 => "<i4",
        DType::U32 => "<u4",
        DType::I64 => "<i8",
        DType::U64 => "<u8",
        DType::Bool => "|b1",
        _ => return None,
    })
}

fn dtype_of(descr: &str) -> Option<DType> {
    let d = descr.trim_start_matches(['<', '|', '=']);
    Some(match d {
        "f4" => DType::F32,
        "f8" => DType::F64,
        "f2" => DType::F16,
        "i1" => DType::I8,
        "u1" => DType::U8,
        "i2" => DType::I16,
        "u2" => DType::U16,
        "i4" => DType::I32,
        "u4" => DType::U32,
        "i8" => DType::I64,
        "u8" => DType::U64,
        "b1" => DType::Bool,
        _ => return None,
    })
}

/// Extracts `'key': value` from the header dict (a tiny parser for numpy's fixed format).
fn field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let start = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[start..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else {
        rest.find([',', '}']).unwrap_or(rest.len())
    };
    Some(rest[..end].trim())
}

/// Parses a `.npy` byte buffer; `what` names it in errors.
pub fn parse_npy(buf: &[u8], what: &str) -> Result<Tensor> {
    if buf.len() < 10 || &buf[..6] != b"\x93NUMPY" {
        return Err(format_err(what, "not a .npy file (bad magic)"));
    }
    let major = buf[6];
    let (hlen, hstart) = match major {
        1 => (u16::from_le_bytes([buf[8], buf[9]]) as usize, 10),
        2 | 3 => {
            if buf.len() < 12 {
                return Err(format_err(what, "truncated header"));
            }
            (
                u32::from_le_bytes([buf[8], buf[9], buf[10], buf[11]]) as usize,
                12,
            )
        }
        v => return Err(format_err(what, format!("unsupported .npy version {v}"))),
    };
    let header = std::str::from_utf8(
        buf.get(hstart..hstart + hlen)
            .ok_or_else(|| format_err(what, "truncated header"))?,
    )
    .map_err(|_| format_err(what, "header is not UTF-8"))?;
    let d = field(header, "descr")
        .ok_or_else(|| format_err(what, "header has no descr"))?
        .trim_matches(['\'', '"']);
    if d.starts_with('>') {
        return Err(format_err(
            what,
            "big-endian arrays are not supported; save with '<' byte order",
        ));
    }
    let dtype = dtype_of(d).ok_or_else(|| format_err(what, format!("unsupported dtype '{d}'")))?;
    if field(header, "fortran_order").is_some_and(|v| v.starts_with("True")) {
        return Err(format_err(
            what,
            "Fortran-ordered arrays are not supported; use np.ascontiguousarray",
        ));
    }
    let shape_s = field(header, "shape").ok_or_else(|| format_err(what, "header has no shape"))?;
    let shape: Vec<usize> = shape_s
        .trim_matches(['(', ')'])
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format_err(what, format!("bad shape {shape_s}")))
        })
        .collect::<Result<_>>()?;
    let n = checked_numel(&shape).map_err(|e| format_err(what, e.to_string()))?;
    let data = &buf[hstart + hlen..];
    let need = n * dtype.size_of();
    if data.len() < need {
        return Err(format_err(
            what,
            format!(
                "shape {shape:?} needs {need} bytes of data, file has {}",
                data.len()
            ),
        ));
    }
    Ok(Tensor::from_bytes(
        dtype,
        shape,
        Bytes::copy_from_slice(&data[..need]),
    )?)
}

/// Reads a `.npy` file.
pub fn read_npy(path: &Path) -> Result<Tensor> {
    let buf = read_file(path)?;
    parse_npy(&buf, &path.display().to_string())
}

/// Serializes a tensor as `.npy` 1.0.
pub fn npy_bytes(t: &Tensor) -> Result<Vec<u8>> {
    let d = descr(t.dtype()).ok_or_else(|| {
        DataError::Invalid(format!("{} tensors cannot be saved as .npy", t.dtype()))
    })?;
    let shape = match t.shape().len() {
        0 => "()".to_string(),
        1 => format!("({},)", t.shape()[0]),
        _ => format!(
            "({})",
            t.shape()
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '{d}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + t.as_bytes().len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(t.as_bytes());
    Ok(out)
}

/// Reads every array of an `.npz` archive, in archive order.
pub fn read_npz(path: &Path) -> Result<Vec<(String, Tensor)>> {
    let what = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|source| DataError::Io {
        path: what.clone(),
        source,
    })?;
    let zip_err =
        |e: zip::result::ZipError| format_err(&what, format!("not a valid .npz (zip) file: {e}"));
    let mut z = zip::ZipArchive::new(f).map_err(zip_err)?;
    let mut out = Vec::new();
    for i in 0..z.len() {
        let mut e = z.by_index(i).map_err(zip_err)?;
        let name = e.name().trim_end_matches(".npy").to_string();
        let mut buf = Vec::new();
        e.read_to_end(&mut buf)
            .map_err(|e| format_err(&what, format!("entry {name}: {e}")))?;
        out.push((
            name.clone(),
            parse_npy(&buf, &format!("{}:{name}", path.display()))?,
        ));
    }
    Ok(out)
}

/// Writes an `.npz` archive atomically.
pub fn write_npz(path: &Path, arrays: &[(String, Tensor)]) -> Result<()> {
    let what = path.display().to_string();
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (name, t) in arrays {
            z.start_file(format!("{}.npy", sanitize(name)), opts)
                .map_err(|e| format_err(&what, e.to_string()))?;
            z.write_all(&npy_bytes(t)?)
                .map_err(|source| DataError::Io {
                    path: what.clone(),
                    source,
                })?;
        }
        z.finish().map_err(|e| format_err(&what, e.to_string()))?;
    }
    edgeopt_onnx::write_atomic(path, &buf.into_inner())
        .map_err(|e| format_err(&what, e.to_string()))?;
    Ok(())
}

/// Array names inside an archive must be plain file names.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trip() {
        let t = Tensor::from_vec(vec![2, 3], vec![1f32, 2., 3., 4., 5., 6.]).unwrap();
        let back = parse_npy(&npy_bytes(&t).unwrap(), "t").unwrap();
        assert!(back.bit_eq(&t));
        let s = Tensor::scalar(7i64);
        assert!(parse_npy(&npy_bytes(&s).unwrap(), "s").unwrap().bit_eq(&s));
    }

    #[test]
    fn truncated_npy_is_an_error() {
        let t = Tensor::from_vec(vec![4], vec![1f32; 4]).unwrap();
        let b = npy_bytes(&t).unwrap();
        let e = parse_npy(&b[..b.len() - 3], "x.npy")
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.npy") && e.contains("needs 16 bytes"), "{e}");
    }

    #[test]
    fn npz_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npz");
        let arrays = vec![
            ("x".to_string(), Tensor::vec1(vec![1u8, 2])),
            ("y:0".to_string(), Tensor::scalar(1.5f64)),
        ];
        write_npz(&p, &arrays).unwrap();
        let back = read_npz(&p).unwrap();
        assert_eq!(back[0].0, "x");
        assert_eq!(back[1].0, "y_0");
        assert!(back[1].1.bit_eq(&arrays[1].1));
    }
}
