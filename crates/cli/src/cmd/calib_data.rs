//! Sample sets for `quantize --calib` and `compare --data`: `random`, `.npy` / `.npz` (first axis
//! = samples), IDX files (MNIST style, optionally gzipped; scaled to [0, 1] then `--mean` /
//! `--std`). Each sample is shaped like the model's inputs.

use crate::feeds::{concrete_shape, Rng};
use anyhow::{anyhow, bail, Context, Result};
use edgeopt_data::npy::{read_npy, read_npz};
use edgeopt_ir::{Graph, ValueId};
use edgeopt_tensor::{DType, Tensor};
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

/// Options shared by the commands that read samples.
#[derive(clap::Args, Clone, Debug)]
pub struct DataArgs {
    /// Use at most this many samples.
    #[arg(long, default_value_t = 100)]
    pub samples: usize,
    /// Per-channel mean subtracted from IDX data (after scaling to [0, 1]); comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub mean: Vec<f32>,
    /// Per-channel standard deviation IDX data is divided by; comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub std: Vec<f32>,
    /// Size of a symbolic input dim, NAME=SIZE (default 1). Repeatable.
    #[arg(long = "dim")]
    pub dims: Vec<String>,
    /// Full shape of an input, NAME=1x3x48x192 (for `random`, or dims the model leaves open).
    #[arg(long = "shape")]
    pub shapes: Vec<String>,
    /// Seed for `random`.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Run the models on the reference executor (slow) instead of the runtime.
    #[arg(long)]
    pub reference_executor: bool,
    /// Threads of the runtime (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

impl DataArgs {
    /// The engine that runs models for calibration and reports.
    pub fn engine(&self) -> Box<dyn edgeopt_quant::Engine> {
        if self.reference_executor {
            Box::new(edgeopt_quant::Reference)
        } else {
            Box::new(edgeopt_quant::Fast {
                threads: self.threads,
            })
        }
    }
}

/// The input shapes samples must have (symbolic dims from `--dim`, else 1).
fn input_shapes(g: &Graph, feeds: &[ValueId], dims: &HashMap<String, usize>) -> Vec<Vec<usize>> {
    feeds
        .iter()
        .map(|&v| {
            concrete_shape(
                g.value(v).ty.shape().map(|s| s.as_slice()).unwrap_or(&[]),
                dims,
            )
        })
        .collect()
}

/// Splits `t` (leading sample axis, or exactly one sample) into samples of `shape`; dims the
/// model leaves open come from the data (`t` of the input's rank: batches along axis 0; one rank
/// less: one sample per row).
fn split(
    t: &Tensor,
    shape: &[usize],
    declared: Option<&[edgeopt_tensor::Dim]>,
    what: &str,
) -> Result<Vec<Tensor>> {
    let mut shape = shape.to_vec();
    if let Some(d) = declared {
        let known = |i: usize| matches!(d.get(i), Some(edgeopt_tensor::Dim::Known(_)));
        let data = t.shape();
        let off = if data.len() + 1 == d.len() { 1 } else { 0 };
        if data.len() + off == d.len() {
            for i in 1..d.len() {
                if !known(i) {
                    shape[i] = data[i - off];
                }
            }
        }
    }
    let per: usize = shape.iter().product();
    if per == 0 {
        bail!("{what}: the model input shape {shape:?} is empty");
    }
    let t = if t.dtype() == DType::F32 {
        t.clone()
    } else {
        let v = t
            .to_f64_vec()
            .with_context(|| format!("{what}: {} data cannot feed a float input", t.dtype()))?;
        Tensor::from_vec(
            t.shape().to_vec(),
            v.into_iter().map(|x| x as f32).collect(),
        )?
    };
    if t.len() % per != 0 {
        bail!(
            "{what}: {} elements of shape {:?} do not split into samples of shape {shape:?}",
            t.len(),
            t.shape()
        );
    }
    let v = t.as_slice::<f32>()?;
    v.chunks(per)
        .map(|c| Ok(Tensor::from_vec(shape.to_vec(), c.to_vec())?))
        .collect()
}

fn read_idx(path: &Path) -> Result<Tensor> {
    let mut raw = Vec::new();
    std::fs::File::open(path)
        .with_context(|| format!("reading {}", path.display()))?
        .read_to_end(&mut raw)?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .with_context(|| format!("{}: bad gzip data", path.display()))?;
        raw = out;
    }
    let bad = || anyhow!("{} is not an IDX file", path.display());
    if raw.len() < 4 || raw[0] != 0 || raw[1] != 0 {
        return Err(bad());
    }
    let (kind, nd) = (raw[2], raw[3] as usize);
    if kind != 0x08 || raw.len() < 4 + 4 * nd {
        bail!(
            "{}: only unsigned-byte IDX data (type 0x08) is supported, got 0x{kind:02x}",
            path.display()
        );
    }
    let shape: Vec<usize> = (0..nd)
        .map(|i| {
            u32::from_be_bytes([
                raw[4 + 4 * i],
                raw[5 + 4 * i],
                raw[6 + 4 * i],
                raw[7 + 4 * i],
            ]) as usize
        })
        .collect();
    let n = edgeopt_tensor::shape::checked_numel(&shape)?;
    let data = raw.get(4 + 4 * nd..4 + 4 * nd + n).ok_or_else(|| {
        anyhow!(
            "{}: truncated ({} of {n} bytes)",
            path.display(),
            raw.len() - 4 - 4 * nd
        )
    })?;
    Ok(Tensor::from_vec(shape, data.to_vec())?)
}

fn normalize(t: &Tensor, mean: &[f32], std: &[f32], channels: usize) -> Result<Tensor> {
    let v = t.to_f64_vec()?;
    let inner = (t.len() / channels.max(1)).max(1);
    let out: Vec<f32> = v
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let c = (i / inner) % channels.max(1);
            let m = mean.get(c).or(mean.first()).copied().unwrap_or(0.0);
            let s = std.get(c).or(std.first()).copied().unwrap_or(1.0);
            ((x / 255.0) as f32 - m) / s
        })
        .collect();
    Ok(Tensor::from_vec(t.shape().to_vec(), out)?)
}

/// Labels from an IDX or `.npy` file (one integer per sample row).
pub fn read_labels(path: &Path) -> Result<Vec<usize>> {
    let t = if path.extension().is_some_and(|e| e == "npy") {
        read_npy(path)?
    } else {
        read_idx(path)?
    };
    Ok(t.to_i64_vec()?
        .into_iter()
        .map(|v| v.max(0) as usize)
        .collect())
}

/// Loads up to `a.samples` samples from `spec` for `model`'s feed inputs.
pub fn load_samples(
    model: &edgeopt_ir::Model,
    spec: &str,
    a: &DataArgs,
) -> Result<Vec<Vec<Tensor>>> {
    let g = &model.graph;
    let feeds = edgeopt_ir::exec::feed_inputs(g);
    let dims = crate::feeds::parse_dims(&a.dims)?;
    let mut shapes = input_shapes(g, &feeds, &dims);
    for (name, shape) in crate::feeds::parse_shapes(&a.shapes)? {
        let k = feeds
            .iter()
            .position(|&v| g.value(v).name == name)
            .ok_or_else(|| anyhow!("--shape: the model has no input '{name}'"))?;
        shapes[k] = shape;
    }
    let names: Vec<String> = feeds.iter().map(|&v| g.value(v).name.clone()).collect();
    let n = a.samples.max(1);
    let per_input: Vec<Vec<Tensor>> = if spec == "random" {
        let mut rng = Rng::new(a.seed);
        (0..feeds.len())
            .map(|k| {
                (0..n)
                    .map(|_| {
                        let len: usize = shapes[k].iter().product();
                        let v: Vec<f32> = (0..len)
                            .map(|_| (rng.uniform() * 2.0 - 1.0) as f32)
                            .collect();
                        Ok(Tensor::from_vec(shapes[k].clone(), v)?)
                    })
                    .collect::<Result<_>>()
            })
            .collect::<Result<_>>()?
    } else {
        let path = Path::new(spec);
        if !path.exists() {
            bail!(
                "calibration data {spec} does not exist (give .npy, .npz, an IDX file or 'random')"
            );
        }
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ext == "npz" {
            let arrays = read_npz(path)?;
            names
                .iter()
                .zip(&shapes)
                .map(|(name, shape)| {
                    let t = arrays
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, t)| t)
                        .ok_or_else(|| {
                            anyhow!(
                                "{spec} has no array named '{name}' (has: {})",
                                arrays
                                    .iter()
                                    .map(|a| a.0.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        })?;
                    let id = feeds[names.iter().position(|n| n == name).unwrap_or(0)];
                    split(
                        t,
                        shape,
                        g.value(id).ty.shape().map(|s| s.as_slice()),
                        &format!("{spec}:{name}"),
                    )
                })
                .collect::<Result<_>>()?
        } else {
            if feeds.len() != 1 {
                bail!(
                    "the model takes {} inputs; give an .npz with one array per input",
                    feeds.len()
                );
            }
            let t = if ext == "npy" {
                read_npy(path)?
            } else {
                let t = read_idx(path)?;
                let channels = shapes[0].get(1).copied().unwrap_or(1);
                normalize(&t, &a.mean, &a.std, channels)?
            };
            vec![split(
                &t,
                &shapes[0],
                g.value(feeds[0]).ty.shape().map(|s| s.as_slice()),
                spec,
            )?]
        }
    };
    let count = per_input.iter().map(|v| v.len()).min().unwrap_or(0).min(n);
    if count == 0 {
        bail!("{spec} holds no samples");
    }
    Ok((0..count)
        .map(|i| per_input.iter().map(|v| v[i].clone()).collect())
        .collect())
}

/// A one-line progress bar on stderr (only when stderr is a terminal).
pub fn progress_bar() -> impl FnMut(&str, usize, usize) {
    use std::io::{IsTerminal, Write};
    let tty = std::io::stderr().is_terminal();
    move |phase: &str, done: usize, total: usize| {
        if !tty {
            return;
        }
        let w = 30;
        let fill = (done * w).checked_div(total).unwrap_or(w);
        eprint!(
            "\r{phase:<26} [{}{}] {done}/{total}",
            "#".repeat(fill),
            "-".repeat(w - fill)
        );
        if done == total {
            eprintln!();
        }
        let _ = std::io::stderr().flush();
    }
}
