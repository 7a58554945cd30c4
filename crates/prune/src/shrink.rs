//! Applying a channel plan: physically removing channels (smaller weights, fewer channels,
//! re-inferred types) or only masking them (consumers' input slices zeroed, shapes unchanged:
//! the function the shrunk model computes, for tests and fine-tuning).

use std::collections::{BTreeMap, BTreeSet};

use edgeopt_ir::attr::Attrs;
use edgeopt_ir::{Attribute, BuildCtx, Model, Registry, TensorType, ValueId, ValueType};
use edgeopt_tensor::{Dim, Tensor};

use crate::depgraph::{DepGraph, Fixup, Role};
use crate::tensor_ops::{take_along, zero_except};
use crate::{PruneError, Result};

/// What applying a plan does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Apply {
    /// Remove the channels: a smaller model.
    Shrink,
    /// Zero the consumers' input slices of removed channels; shapes stay.
    Mask,
}

fn set_initializer(model: &mut Model, v: ValueId, t: Tensor) {
    model.graph.value_mut(v).ty = ValueType::Tensor(TensorType::of(&t));
    model.graph.initializers.insert(v, t);
}

/// Applies `removed` (union-find roots of `dg`, which was built from `model`) to `model`.
pub fn apply_plan(
    model: &mut Model,
    dg: &DepGraph,
    removed: &BTreeSet<usize>,
    how: Apply,
) -> Result<()> {
    if removed.is_empty() {
        return Ok(());
    }
    let mut kept_cache: BTreeMap<ValueId, Vec<usize>> = BTreeMap::new();
    let mut kept = |v: ValueId| -> Vec<usize> {
        kept_cache
            .entry(v)
            .or_insert_with(|| dg.kept(v, removed))
            .clone()
    };
    // One slice per (tensor, axis): a second, different one would be a rule bug.
    let mut done: BTreeMap<(ValueId, usize), Vec<usize>> = BTreeMap::new();
    for p in &dg.params {
        if how == Apply::Mask && p.role != Role::In {
            continue;
        }
        let keep = kept(p.channels);
        if let Some(prev) = done.get(&(p.tensor, p.axis)) {
            if *prev != keep {
                return Err(PruneError::Graph(format!(
                    "tensor '{}' axis {} follows two different channel sets",
                    model.graph.value(p.tensor).name,
                    p.axis
                )));
            }
            continue;
        }
        let t = &model.graph.initializers[&p.tensor];
        let new = match how {
            Apply::Shrink => take_along(t, p.axis, &keep)?,
            Apply::Mask => zero_except(t, p.axis, &keep)?,
        };
        set_initializer(model, p.tensor, new);
        done.insert((p.tensor, p.axis), keep);
    }
    if how == Apply::Mask {
        return Ok(());
    }
    for f in &dg.fixups {
        match f {
            Fixup::Group { node, channels } => {
                let n = kept(*channels).len() as i64;
                set_attr(model, node.0 as usize, "group", Attribute::Int(n))?;
            }
            Fixup::Split {
                node,
                sizes,
                outputs,
            } => {
                let new: Vec<i64> = outputs.iter().map(|o| kept(*o).len() as i64).collect();
                match sizes {
                    Some(s) => {
                        set_initializer(model, *s, Tensor::from_vec(vec![new.len()], new)?);
                    }
                    None => set_attr(model, node.0 as usize, "split", Attribute::Ints(new))?,
                }
            }
            Fixup::ReshapeTarget { shape, channels } => {
                let t = &model.graph.initializers[shape];
                let mut target = t.to_i64_vec()?;
                target[1] = kept(*channels).len() as i64;
                set_initializer(model, *shape, Tensor::from_vec(vec![2], target)?);
            }
        }
    }
    for t in dg.all_tracked() {
        let n = kept(t.value).len();
        if n < t.size {
            if let Some(ValueType::Tensor(tt)) = Some(&mut model.graph.value_mut(t.value).ty) {
                if let Some(d) = tt.shape.as_mut().and_then(|s| s.get_mut(t.axis)) {
                    *d = Dim::Known(n);
                }
            }
        }
    }
    reinfer(model)
}

/// Forgets every inferred type (keeping inputs', initializers' and declared outputs' dtypes)
/// and infers again: an inconsistent shrink fails here, naming the node.
pub fn reinfer(model: &mut Model) -> Result<()> {
    let g = &mut model.graph;
    let keep: BTreeSet<ValueId> = g
        .inputs
        .iter()
        .chain(g.initializers.keys())
        .copied()
        .collect();
    for (i, v) in g.values.iter_mut().enumerate() {
        if !keep.contains(&ValueId(i as u32)) {
            let dtype = v.ty.dtype();
            v.ty = match dtype {
                Some(d) => ValueType::dtype_only(d),
                None => ValueType::default(),
            };
        }
    }
    let opset = model.opset();
    edgeopt_ir::infer::infer_types(&mut model.graph, opset)?;
    model.graph.check()?;
    Ok(())
}

/// Rebuilds node `ni`'s op with attribute `name` set to `value`.
fn set_attr(model: &mut Model, ni: usize, name: &str, value: Attribute) -> Result<()> {
    let opset = model.opset();
    let node = &model.graph.nodes[ni];
    let mut map: BTreeMap<String, Attribute> = node.op.attributes().into_iter().collect();
    map.insert(name.to_string(), value);
    let mut attrs = Attrs::new(map);
    let mut ctx = BuildCtx {
        opset,
        attrs: &mut attrs,
        num_inputs: node.inputs.len(),
        num_outputs: node.outputs.len(),
    };
    let op = Registry::global().build(node.op.domain(), node.op_type(), &mut ctx)?;
    model.graph.nodes[ni].op = op;
    Ok(())
}
