//! IDX files (the MNIST / Fashion-MNIST format), raw or gzipped (detected by magic bytes).
//!
//! Layout: two zero bytes, a type code, the rank, then `rank` big-endian u32 dims and the data
//! in big-endian element order.

use crate::error::{format_err, read_file, Result};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{DType, Tensor};
use std::io::Read;
use std::path::Path;

/// Largest decompressed file accepted (2^31 elements of 8 bytes bound any legal tensor).
const MAX_DECOMPRESSED: u64 = 1 << 34;

/// Undoes gzip when `buf` starts with the gzip magic; otherwise returns it as is.
pub fn maybe_gunzip(buf: Vec<u8>, what: &str) -> Result<Vec<u8>> {
    if !buf.starts_with(&[0x1f, 0x8b]) {
        return Ok(buf);
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&buf[..])
        .take(MAX_DECOMPRESSED)
        .read_to_end(&mut out)
        .map_err(|e| format_err(what, format!("bad gzip stream: {e}")))?;
    Ok(out)
}

fn dtype_of(code: u8) -> Option<DType> {
    Some(match code {
        0x08 => DType::U8,
        0x09 => DType::I8,
        0x0B => DType::I16,
        0x0C => DType::I32,
        0x0D => DType::F32,
        0x0E => DType::F64,
        _ => return None,
    })
}

/// Parses an (uncompressed) IDX buffer into a tensor of its element type; `what` names the
/// source in errors.
pub fn parse_idx(buf: &[u8], what: &str) -> Result<Tensor> {
    if buf.len() < 4 || buf[0] != 0 || buf[1] != 0 {
        return Err(format_err(what, "not an IDX file (bad magic)"));
    }
    let dtype = dtype_of(buf[2])
        .ok_or_else(|| format_err(what, format!("unknown IDX type code 0x{:02x}", buf[2])))?;
    let rank = buf[3] as usize;
    let header = 4 + 4 * rank;
    let dims_bytes = buf.get(4..header).ok_or_else(|| {
        format_err(
            what,
            format!(
                "truncated header: {rank} dims need {header} bytes, file has {}",
                buf.len()
            ),
        )
    })?;
    let shape: Vec<usize> = dims_bytes
        .chunks_exact(4)
        .map(|d| u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize)
        .collect();
    let n = checked_numel(&shape).map_err(|e| format_err(what, e.to_string()))?;
    let size = dtype.size_of();
    let need = n * size;
    let data = &buf[header..];
    if data.len() != need {
        return Err(format_err(
            what,
            format!(
                "{} shape {shape:?} needs {need} data bytes, file has {}{}",
                dtype,
                data.len(),
                if data.len() < need {
                    " (truncated)"
                } else {
                    " (trailing bytes)"
                }
            ),
        ));
    }
    // IDX is big-endian; tensors are little-endian.
    let mut le = data.to_vec();
    if size > 1 {
        le.chunks_exact_mut(size).for_each(|e| e.reverse());
    }
    Ok(Tensor::from_bytes(dtype, shape, bytes::Bytes::from(le))?)
}

/// Reads an IDX file, gzipped or not.
pub fn read_idx(path: &Path) -> Result<Tensor> {
    let what = path.display().to_string();
    parse_idx(&maybe_gunzip(read_file(path)?, &what)?, &what)
}

/// Serializes a u8 tensor as IDX (for tests and tools writing MNIST-like data).
pub fn idx_bytes_u8(shape: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, shape.len() as u8];
    for &d in shape {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_raw_and_gzipped_files() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = idx_bytes_u8(&[2, 2, 3], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]);
        let raw = dir.path().join("x-idx3-ubyte");
        std::fs::write(&raw, &bytes).unwrap();
        let gz = dir.path().join("x-idx3-ubyte.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&bytes).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        for p in [&raw, &gz] {
            let t = read_idx(p).unwrap();
            assert_eq!(t.shape(), &[2, 2, 3]);
            assert_eq!(t.as_slice::<u8>().unwrap()[11], 255);
        }
    }

    #[test]
    fn multi_byte_types_are_big_endian() {
        let mut b = vec![0, 0, 0x0C, 1, 0, 0, 0, 2];
        b.extend_from_slice(&(-2i32).to_be_bytes());
        b.extend_from_slice(&70000i32.to_be_bytes());
        assert_eq!(
            parse_idx(&b, "i").unwrap().as_slice::<i32>().unwrap(),
            &[-2, 70000]
        );
    }

    #[test]
    fn malformed_files_are_clear_errors() {
        let good = idx_bytes_u8(&[3, 2], &[1; 6]);
        let e = |b: &[u8]| parse_idx(b, "f.idx").unwrap_err().to_string();
        assert!(e(&good[..good.len() - 1]).contains("needs 6 data bytes, file has 5 (truncated)"));
        assert!(e(&good[..6]).contains("truncated header"));
        assert!(e(b"\x01\x00\x08\x01").contains("bad magic"));
        assert!(e(b"\x00\x00\x07\x01").contains("type code 0x07"));
        let mut long = good.clone();
        long.push(0);
        assert!(e(&long).contains("trailing"));
        // Absurd dims fail before allocating.
        let huge = idx_bytes_u8(&[u32::MAX as usize, u32::MAX as usize], &[]);
        assert!(e(&huge).contains("f.idx"));
        // A corrupt gzip stream names the file.
        let bad_gz = maybe_gunzip(vec![0x1f, 0x8b, 8, 0, 1, 2, 3], "g.gz")
            .unwrap_err()
            .to_string();
        assert!(
            bad_gz.contains("g.gz") && bad_gz.contains("gzip"),
            "{bad_gz}"
        );
    }
}
