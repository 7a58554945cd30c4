//! Weight masks that keep shapes: unstructured magnitude pruning (per layer or global), block
//! pruning (`R x C` blocks of outputs x inputs by mean magnitude) and N:M sparsity (at most N
//! nonzeros in every M consecutive inputs).

use edgeopt_ir::{Model, ValueId};
use edgeopt_tensor::{DType, Tensor};

use crate::{PruneError, Result};

/// A prunable weight: a constant matrix or kernel and which axes are outputs and inputs.
#[derive(Debug, Clone)]
pub struct Layer {
    /// Name of the node using it.
    pub node: String,
    /// The initializer.
    pub weight: ValueId,
    /// Its output-channel axis.
    pub out_axis: usize,
    /// Its input (reduction) axis.
    pub in_axis: usize,
}

/// Per-layer outcome.
#[derive(Debug, Clone)]
pub struct LayerReport {
    /// Node name.
    pub node: String,
    /// Weights in the layer.
    pub params: usize,
    /// Zeros after pruning.
    pub zeros: usize,
}

/// Unstructured or semi-structured mask method.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mask {
    /// Smallest |w| first; `global` ranks all layers together.
    Magnitude {
        /// One threshold for every layer instead of one ratio per layer.
        global: bool,
    },
    /// Blocks of `rows` outputs by `cols` inputs, smallest mean |w| first (per layer).
    Block {
        /// Outputs per block.
        rows: usize,
        /// Inputs per block.
        cols: usize,
    },
    /// Keep the `n` largest of every `m` consecutive inputs (the sparsity argument is ignored).
    NofM {
        /// Kept per group.
        n: usize,
        /// Group size.
        m: usize,
    },
}

/// Float32 weights of Conv, ConvTranspose, Gemm and MatMul nodes (constant operand).
pub fn layers(model: &Model) -> Vec<Layer> {
    let g = &model.graph;
    let mut out = Vec::new();
    for n in &g.nodes {
        let Some(w) = n.inputs.get(1).copied().flatten() else {
            continue;
        };
        let Some(t) = g.initializers.get(&w) else {
            continue;
        };
        if t.dtype() != DType::F32 || g.inputs.contains(&w) || !n.op.domain().is_empty() {
            continue;
        }
        let trans_b = crate::attrs::int(n, "transB").unwrap_or(0) != 0;
        let axes = match (n.op_type(), t.rank()) {
            ("Conv", r) if r >= 3 => (0, 1),
            ("ConvTranspose", r) if r >= 3 => (1, 0),
            ("Gemm", 2) if trans_b => (0, 1),
            ("Gemm", 2) | ("MatMul", 2) => (1, 0),
            _ => continue,
        };
        out.push(Layer {
            node: n.name.clone(),
            weight: w,
            out_axis: axes.0,
            in_axis: axes.1,
        });
    }
    out
}

/// For each element of a tensor of `shape`: its (output, input, rest) coordinates, where
/// `rest` numbers the remaining axes.
fn coords(shape: &[usize], out_axis: usize, in_axis: usize) -> Vec<(usize, usize, usize)> {
    let total: usize = shape.iter().product();
    let mut res = Vec::with_capacity(total);
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..total {
        let mut rest = 0;
        for (a, (&i, &d)) in idx.iter().zip(shape).enumerate() {
            if a != out_axis && a != in_axis {
                rest = rest * d + i;
            }
        }
        res.push((idx[out_axis], idx[in_axis], rest));
        for a in (0..shape.len()).rev() {
            idx[a] += 1;
            if idx[a] < shape[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    res
}

/// Zeroes elements of `w` by score: every element of a unit shares its unit's score, and the
/// `count` lowest-scoring units (ties by index) are zeroed.
fn zero_lowest_units(w: &mut [f32], unit_of: &[usize], units: usize, count: usize) {
    let mut score = vec![0f64; units];
    let mut size = vec![0usize; units];
    for (v, &u) in w.iter().zip(unit_of) {
        score[u] += v.abs() as f64;
        size[u] += 1;
    }
    let mut order: Vec<usize> = (0..units).collect();
    let mean = |u: usize| score[u] / size[u].max(1) as f64;
    order.sort_by(|&a, &b| mean(a).total_cmp(&mean(b)).then(a.cmp(&b)));
    let mut dead = vec![false; units];
    for &u in order.iter().take(count) {
        dead[u] = true;
    }
    for (v, &u) in w.iter_mut().zip(unit_of) {
        if dead[u] {
            *v = 0.0;
        }
    }
}

fn weights(model: &Model, l: &Layer) -> Result<(Vec<usize>, Vec<f32>)> {
    let t = &model.graph.initializers[&l.weight];
    Ok((t.shape().to_vec(), t.as_slice::<f32>()?.to_vec()))
}

/// Applies `mask` at `sparsity` (fraction of weights, or of blocks, set to zero) to `layers`.
pub fn prune_masks(
    model: &mut Model,
    layers: &[Layer],
    mask: Mask,
    sparsity: f64,
) -> Result<Vec<LayerReport>> {
    if !(0.0..=1.0).contains(&sparsity) {
        return Err(PruneError::Input(format!(
            "sparsity must be in [0, 1], got {sparsity}"
        )));
    }
    let global_threshold = match mask {
        Mask::Magnitude { global: true } => {
            let mut all: Vec<f32> = Vec::new();
            for l in layers {
                all.extend(weights(model, l)?.1.iter().map(|v| v.abs()));
            }
            all.sort_by(f32::total_cmp);
            let k = (all.len() as f64 * sparsity).floor() as usize;
            Some(if k == 0 {
                f32::NEG_INFINITY
            } else {
                all[k - 1]
            })
        }
        _ => None,
    };
    let mut reports = Vec::new();
    for l in layers {
        let (shape, mut w) = weights(model, l)?;
        match mask {
            Mask::Magnitude { .. } => match global_threshold {
                Some(th) => w
                    .iter_mut()
                    .filter(|v| v.abs() <= th)
                    .for_each(|v| *v = 0.0),
                None => {
                    let unit: Vec<usize> = (0..w.len()).collect();
                    let count = (w.len() as f64 * sparsity).floor() as usize;
                    let units = w.len();
                    zero_lowest_units(&mut w, &unit, units, count);
                }
            },
            Mask::Block { rows, cols } => {
                if rows == 0 || cols == 0 {
                    return Err(PruneError::Input("block sizes must be positive".into()));
                }
                let c = coords(&shape, l.out_axis, l.in_axis);
                let (bo, bi) = (
                    shape[l.out_axis].div_ceil(rows),
                    shape[l.in_axis].div_ceil(cols),
                );
                let unit: Vec<usize> = c
                    .iter()
                    .map(|&(o, i, r)| (r * bo + o / rows) * bi + i / cols)
                    .collect();
                let units = bo * bi * (w.len() / (shape[l.out_axis] * shape[l.in_axis]).max(1));
                let count = (units as f64 * sparsity).floor() as usize;
                zero_lowest_units(&mut w, &unit, units, count);
            }
            Mask::NofM { n, m } => {
                if m == 0 || n > m {
                    return Err(PruneError::Input(format!("bad N:M pattern {n}:{m}")));
                }
                let c = coords(&shape, l.out_axis, l.in_axis);
                let gi = shape[l.in_axis].div_ceil(m);
                let mut groups: Vec<Vec<usize>> =
                    vec![Vec::new(); w.len() / shape[l.in_axis].max(1) * gi];
                for (e, &(o, i, r)) in c.iter().enumerate() {
                    groups[(r * shape[l.out_axis] + o) * gi + i / m].push(e);
                }
                for g in &mut groups {
                    g.sort_by(|&a, &b| w[b].abs().total_cmp(&w[a].abs()).then(a.cmp(&b)));
                    // A short last group keeps the same fraction, rounded up.
                    let keep = (g.len() * n).div_ceil(m);
                    for &e in g.iter().skip(keep) {
                        w[e] = 0.0;
                    }
                }
            }
        }
        let zeros = w.iter().filter(|v| **v == 0.0).count();
        reports.push(LayerReport {
            node: l.node.clone(),
            params: w.len(),
            zeros,
        });
        let t = Tensor::from_vec(shape, w)?;
        model.graph.initializers.insert(l.weight, t);
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_follow_the_axes() {
        let c = coords(&[2, 3, 2], 0, 1);
        assert_eq!(c[0], (0, 0, 0));
        assert_eq!(c[1], (0, 0, 1));
        assert_eq!(c[2], (0, 1, 0));
        assert_eq!(c[11], (1, 2, 1));
        let t = coords(&[3, 2], 1, 0);
        assert_eq!(t[1], (1, 0, 0));
        assert_eq!(t[2], (0, 1, 0));
    }

    #[test]
    fn lowest_units_go_first() {
        let mut w = vec![1.0, -5.0, 0.5, 3.0];
        zero_lowest_units(&mut w, &[0, 0, 1, 1], 2, 1);
        assert_eq!(w, vec![1.0, -5.0, 0.0, 0.0]);
    }
}
