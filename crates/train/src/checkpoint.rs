//! Checkpoints: parameters, BatchNorm state, optimizer state, epoch, step and RNG state in one
//! file (`checkpoint.bin`: magic, JSON header length, JSON header, little-endian f32 payload),
//! written atomically (temp file + rename) so a kill mid-write leaves the previous one intact.

use crate::optim::OptimizerKind;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"EOTRAIN1";

/// One saved f32 array.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    pub shape: Vec<usize>,
    pub len: usize,
}

/// Everything needed to resume training exactly.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Header {
    /// Epochs completed.
    pub epoch: usize,
    /// Optimizer steps taken.
    pub step: u64,
    pub rng_state: u64,
    pub optimizer: OptimizerKind,
    pub entries: Vec<Entry>,
}

/// The checkpoint file in `dir`.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join("checkpoint.bin")
}

/// Writes `header` and `arrays` (one per entry, same order) atomically.
pub fn save(dir: &Path, header: &Header, arrays: &[&[f32]]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let json = serde_json::to_vec(header)?;
    let total: usize = arrays.iter().map(|a| a.len()).sum();
    let mut buf = Vec::with_capacity(16 + json.len() + 4 * total);
    buf.extend_from_slice(MAGIC);
    buf.extend_from_slice(&(json.len() as u64).to_le_bytes());
    buf.extend_from_slice(&json);
    for a in arrays {
        for v in a.iter() {
            buf.extend_from_slice(&v.to_le_bytes());
        }
    }
    edgeopt_onnx::write_atomic(&path_in(dir), &buf)
        .with_context(|| format!("writing checkpoint in {}", dir.display()))?;
    Ok(())
}

/// Reads a checkpoint: header and one array per entry.
pub fn load(dir: &Path) -> Result<(Header, Vec<Vec<f32>>)> {
    let p = path_in(dir);
    let buf = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
    if buf.len() < 16 || &buf[..8] != MAGIC {
        bail!("{}: not an edgeopt checkpoint", p.display());
    }
    let hl = u64::from_le_bytes(buf[8..16].try_into()?) as usize;
    let body = buf.get(16..).unwrap_or(&[]);
    if hl > body.len() {
        bail!("{}: truncated header", p.display());
    }
    let header: Header = serde_json::from_slice(&body[..hl])
        .with_context(|| format!("{}: bad header", p.display()))?;
    let mut data = &body[hl..];
    let mut arrays = Vec::new();
    for e in &header.entries {
        let bytes = e.len.checked_mul(4).filter(|&b| b <= data.len());
        let Some(bytes) = bytes else {
            bail!("{}: truncated data for '{}'", p.display(), e.name);
        };
        arrays.push(
            data[..bytes]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        );
        data = &data[bytes..];
    }
    if !data.is_empty() {
        bail!("{}: {} trailing bytes", p.display(), data.len());
    }
    Ok((header, arrays))
}
