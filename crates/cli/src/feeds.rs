//! Model inputs from files (`-i name=x.npy`, `-i all.npz`) or seeded random data.

use anyhow::{anyhow, bail, Result};
use edgeopt_data::npy::{read_npy, read_npz};
use edgeopt_ir::{Graph, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{DType, Dim, Tensor};
use std::collections::HashMap;
use std::path::Path;

/// A small deterministic generator (SplitMix64) so random inputs are reproducible everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Resolves a declared shape; symbolic or unknown dims take `dims[name]` or 1.
pub fn concrete_shape(shape: &[Dim], dims: &HashMap<String, usize>) -> Vec<usize> {
    shape
        .iter()
        .map(|d| match d {
            Dim::Known(v) => *v,
            Dim::Sym(s) => dims.get(s).copied().unwrap_or(1),
            Dim::Unknown => 1,
        })
        .collect()
}

/// A random tensor for `ty`: floats uniform in [-1, 1), ints in [0, 10), bools fair.
pub fn random_value(
    name: &str,
    ty: &ValueType,
    shape: Option<&Vec<usize>>,
    dims: &HashMap<String, usize>,
    rng: &mut Rng,
) -> Result<Value> {
    let tt = ty
        .as_tensor()
        .ok_or_else(|| anyhow!("input '{name}' is a {ty}; --random only makes tensors"))?;
    let dtype = tt
        .dtype
        .ok_or_else(|| anyhow!("input '{name}' has no declared element type"))?;
    let shape = match shape {
        Some(s) => s.clone(),
        None => concrete_shape(tt.shape.as_deref().unwrap_or(&[]), dims),
    };
    let n = checked_numel(&shape).map_err(|e| anyhow!("input '{name}': {e}"))?;
    let vals: Vec<f64> = (0..n)
        .map(|_| match dtype {
            d if d.is_float() => rng.uniform() * 2.0 - 1.0,
            DType::Bool => (rng.uniform() < 0.5) as u8 as f64,
            _ => (rng.uniform() * 10.0).floor(),
        })
        .collect();
    Ok(Value::Tensor(
        Tensor::from_f64s(dtype, shape, &vals).map_err(|e| anyhow!("input '{name}': {e}"))?,
    ))
}

/// Builds the feed list in the graph's order from `-i` specs and/or random data.
pub fn build_feeds(
    graph: &Graph,
    specs: &[String],
    random: bool,
    seed: u64,
    dims: &HashMap<String, usize>,
    shapes: &HashMap<String, Vec<usize>>,
) -> Result<Vec<(String, Value)>> {
    let mut given: HashMap<String, Tensor> = HashMap::new();
    for s in specs {
        if let Some((name, file)) = s.split_once('=') {
            given.insert(name.to_string(), read_npy(Path::new(file))?);
        } else if s.ends_with(".npz") {
            given.extend(read_npz(Path::new(s))?);
        } else {
            bail!("input '{s}' should be NAME=FILE.npy or FILE.npz");
        }
    }
    let feeds = edgeopt_ir::exec::feed_inputs(graph);
    let known: Vec<&str> = feeds
        .iter()
        .map(|v| graph.value(*v).name.as_str())
        .collect();
    if let Some(extra) = given.keys().find(|k| !known.contains(&k.as_str())) {
        bail!(
            "the model has no input '{extra}' (inputs: {})",
            known.join(", ")
        );
    }
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    for id in feeds {
        let v = graph.value(id);
        let value = match given.remove(&v.name) {
            Some(t) => {
                check_matches(&v.name, &v.ty, &t)?;
                Value::Tensor(t)
            }
            None if random => random_value(&v.name, &v.ty, shapes.get(&v.name), dims, &mut rng)?,
            None => bail!(
                "input '{}' ({}) was not given: pass -i {}=FILE.npy or --random",
                v.name,
                v.ty,
                v.name
            ),
        };
        out.push((v.name.clone(), value));
    }
    Ok(out)
}

/// Refuses data whose dtype or static dims contradict the model's declaration.
fn check_matches(name: &str, ty: &ValueType, t: &Tensor) -> Result<()> {
    let Some(tt) = ty.as_tensor() else {
        return Ok(());
    };
    if let Some(d) = tt.dtype {
        if d != t.dtype() {
            bail!("input '{name}' must be {d}, the file holds {}", t.dtype());
        }
    }
    if let Some(s) = &tt.shape {
        let ok = s.len() == t.rank()
            && s.iter()
                .zip(t.shape())
                .all(|(d, &n)| d.known().is_none_or(|k| k == n));
        if !ok {
            bail!(
                "input '{name}' must have shape {}, the file holds {:?}",
                edgeopt_tensor::shape::fmt_sym(s),
                t.shape()
            );
        }
    }
    if t.dtype().is_float() {
        if let Ok(v) = t.to_f64_vec() {
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                bail!(
                    "input '{name}' holds a non-finite value ({}) at flat index {i}",
                    v[i]
                );
            }
        }
    }
    Ok(())
}

/// Parses `--dim N=4` pairs.
pub fn parse_dims(pairs: &[String]) -> Result<HashMap<String, usize>> {
    pairs
        .iter()
        .map(|p| {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| anyhow!("--dim expects NAME=SIZE, got '{p}'"))?;
            Ok((
                k.to_string(),
                v.parse()
                    .map_err(|_| anyhow!("--dim {k}: '{v}' is not a size"))?,
            ))
        })
        .collect()
}

/// Parses `--shape NAME=1x3x224x224` pairs.
pub fn parse_shapes(pairs: &[String]) -> Result<HashMap<String, Vec<usize>>> {
    pairs
        .iter()
        .map(|p| {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| anyhow!("--shape expects NAME=AxBxC, got '{p}'"))?;
            let dims = v
                .split('x')
                .map(|d| {
                    d.parse::<usize>()
                        .map_err(|_| anyhow!("--shape {k}: '{d}' is not a size"))
                })
                .collect::<Result<_>>()?;
            Ok((k.to_string(), dims))
        })
        .collect()
}
