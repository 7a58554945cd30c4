//! A minimal reader of IDX files (MNIST / Fashion-MNIST, optionally gzipped), enough for the
//! trainer's tests and CLI until `edgeopt-data` provides the full loaders.

use crate::dataset::Dataset;
use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::Path;

/// Reads an IDX file: `(dims, u8 data)`. Only unsigned-byte payloads (type 0x08).
pub fn read_idx(path: &Path) -> Result<(Vec<usize>, Vec<u8>)> {
    let raw = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .with_context(|| format!("decompressing {}", path.display()))?;
        out
    } else {
        raw
    };
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08 {
        bail!("{}: not an unsigned-byte IDX file", path.display());
    }
    let nd = bytes[3] as usize;
    if bytes.len() < 4 + 4 * nd {
        bail!("{}: truncated IDX header", path.display());
    }
    let dims: Vec<usize> = (0..nd)
        .map(|i| {
            u32::from_be_bytes([
                bytes[4 + 4 * i],
                bytes[5 + 4 * i],
                bytes[6 + 4 * i],
                bytes[7 + 4 * i],
            ]) as usize
        })
        .collect();
    let n = edgeopt_tensor::shape::checked_numel(&dims)?;
    let body = &bytes[4 + 4 * nd..];
    if body.len() != n {
        bail!(
            "{}: header says {dims:?} ({n} bytes), the file has {}",
            path.display(),
            body.len()
        );
    }
    Ok((dims, body.to_vec()))
}

/// Loads `{prefix}-images-idx3-ubyte[.gz]` and `{prefix}-labels-idx1-ubyte[.gz]` from `dir`
/// (`prefix` = `train` or `t10k`) as `[1, H, W]` images scaled to `[0, 1]`.
pub fn load_mnist_like(dir: &Path, prefix: &str) -> Result<Dataset> {
    let find = |stem: &str| -> Result<std::path::PathBuf> {
        for ext in ["", ".gz"] {
            let p = dir.join(format!("{prefix}-{stem}{ext}"));
            if p.exists() {
                return Ok(p);
            }
        }
        bail!("no {prefix}-{stem}[.gz] in {}", dir.display())
    };
    let (idims, img) = read_idx(&find("images-idx3-ubyte")?)?;
    let (ldims, lab) = read_idx(&find("labels-idx1-ubyte")?)?;
    if idims.len() != 3 || ldims.len() != 1 || idims[0] != ldims[0] {
        bail!(
            "{}: images {idims:?} and labels {ldims:?} do not match",
            dir.display()
        );
    }
    let x = img.iter().map(|&b| b as f32 / 255.0).collect();
    Dataset::new(
        x,
        vec![1, idims[1], idims[2]],
        lab.iter().map(|&l| l as i64).collect(),
    )
}
