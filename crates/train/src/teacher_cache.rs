//! Cached teacher logits for distillation: without augmentation the teacher sees the same
//! image every epoch, so its outputs are computed once per training sample (in eval mode, in
//! batches) and the distillation steps read rows of the cache instead of running the teacher.
//!
//! A cache can be saved to a file (`EOTLOGT1`, a fingerprint of the teacher's weights and the
//! training set, sample count, classes, little-endian f32 logits) and reused by later runs on the
//! same teacher and data (other seeds, resumed runs); a file whose fingerprint does not match is
//! recomputed.

use crate::trainer::run_in_order;
use anyhow::{anyhow, bail, Context, Result};
use edgeopt_data::Dataset;
use edgeopt_ir::Model;
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::Tensor;
use std::path::Path;

const MAGIC: &[u8; 8] = b"EOTLOGT1";

/// The teacher's logits `[samples, classes]` on one training set.
#[derive(Clone, Debug, PartialEq)]
pub struct TeacherCache {
    /// Fingerprint of the teacher and the training set the logits belong to.
    pub fingerprint: u64,
    pub samples: usize,
    pub classes: usize,
    pub logits: Vec<f32>,
}

/// FNV-1a over bytes, chained.
fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// Fingerprint of `teacher` (node types, initializer names and contents) and of `data`
/// (every sample's features and label).
pub fn fingerprint(teacher: &Model, data: &dyn Dataset) -> Result<u64> {
    let g = &teacher.graph;
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for n in &g.nodes {
        h = fnv(h, n.op.op_type().as_bytes());
    }
    for (id, t) in &g.initializers {
        h = fnv(h, g.value(*id).name.as_bytes());
        let v = t.to_f64_vec()?;
        h = fnv(h, &(v.len() as u64).to_le_bytes());
        for v in v {
            h = fnv(h, &(v as f32).to_le_bytes());
        }
    }
    let mut buf = vec![0f32; checked_numel(data.sample_shape())?];
    h = fnv(h, &(data.len() as u64).to_le_bytes());
    for i in 0..data.len() {
        let label = data.read_into(i, &mut buf)?;
        h = fnv(h, &label.to_le_bytes());
        for v in &buf {
            h = fnv(h, &v.to_le_bytes());
        }
    }
    Ok(h)
}

impl TeacherCache {
    /// Runs `teacher` (first output: logits `[N, classes]`) on every sample of `data` in
    /// batches of `batch`, in order.
    pub fn compute(
        teacher: &Model,
        data: &dyn Dataset,
        batch: usize,
        threads: usize,
    ) -> Result<Self> {
        let mut logits = Vec::new();
        let mut classes = 0;
        run_in_order(teacher, data, batch, threads, |b, out| {
            let z = out[0]
                .as_tensor()
                .ok_or_else(|| anyhow!("the teacher's output is not a tensor"))?;
            let rows = b.indices.len();
            if z.shape().len() != 2 || z.shape()[0] != rows {
                bail!(
                    "the teacher's first output is {:?}, expected [{rows}, classes]",
                    z.shape()
                );
            }
            classes = z.shape()[1];
            logits.extend_from_slice(z.as_slice::<f32>()?);
            Ok(())
        })
        .context("running the teacher")?;
        Ok(TeacherCache {
            fingerprint: fingerprint(teacher, data)?,
            samples: data.len(),
            classes,
            logits,
        })
    }

    /// The logits of samples `indices`, as `[indices.len(), classes]`.
    pub fn rows(&self, indices: &[usize]) -> Result<Tensor> {
        let c = self.classes;
        let mut out = Vec::with_capacity(indices.len() * c);
        for &i in indices {
            let row = self.logits.get(i * c..(i + 1) * c).ok_or_else(|| {
                anyhow!(
                    "sample {i} is outside the teacher cache ({} samples)",
                    self.samples
                )
            })?;
            out.extend_from_slice(row);
        }
        Ok(Tensor::from_vec(vec![indices.len(), c], out)?)
    }

    /// Writes the cache atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut buf = Vec::with_capacity(32 + 4 * self.logits.len());
        buf.extend_from_slice(MAGIC);
        for v in [self.fingerprint, self.samples as u64, self.classes as u64] {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        for v in &self.logits {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        edgeopt_onnx::write_atomic(path, &buf)
            .with_context(|| format!("writing the teacher cache {}", path.display()))?;
        Ok(())
    }

    /// Reads a cache written by [`save`](Self::save).
    pub fn load(path: &Path) -> Result<Self> {
        let buf = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        if buf.len() < 32 || &buf[..8] != MAGIC {
            bail!("{}: not an edgeopt teacher cache", path.display());
        }
        let word = |k: usize| -> Result<u64> {
            Ok(u64::from_le_bytes(buf[8 + 8 * k..16 + 8 * k].try_into()?))
        };
        let (fingerprint, samples, classes) = (word(0)?, word(1)? as usize, word(2)? as usize);
        let expected = samples
            .checked_mul(classes)
            .and_then(|n| n.checked_mul(4))
            .and_then(|n| n.checked_add(32));
        if expected != Some(buf.len()) {
            bail!(
                "{}: {} bytes for {samples} samples x {classes} classes",
                path.display(),
                buf.len()
            );
        }
        let logits = buf[32..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(TeacherCache {
            fingerprint,
            samples,
            classes,
            logits,
        })
    }

    /// The cache in `path` if it was made for this teacher and data, else a fresh one, saved
    /// there. Returns the cache and whether it was computed now.
    pub fn load_or_compute(
        path: &Path,
        teacher: &Model,
        data: &dyn Dataset,
        batch: usize,
        threads: usize,
    ) -> Result<(Self, bool)> {
        if path.exists() {
            let c = Self::load(path)?;
            if c.samples == data.len() && c.fingerprint == fingerprint(teacher, data)? {
                return Ok((c, false));
            }
        }
        let c = Self::compute(teacher, data, batch, threads)?;
        c.save(path)?;
        Ok((c, true))
    }
}
