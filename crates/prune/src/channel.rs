//! Structured pruning: pick the least important channels of each prunable group and remove
//! them (filter/channel pruning for convs, neuron pruning for Gemm/MatMul).

use std::collections::{BTreeMap, BTreeSet};

use edgeopt_ir::exec::run_model;
use edgeopt_ir::{Model, Value, ValueId};
use edgeopt_tensor::Tensor;

use crate::depgraph::{DepGraph, Group, Role};
use crate::shrink::{apply_plan, Apply};
use crate::tensor_ops::norms_along;
use crate::{PruneError, Result};

/// How a channel's importance is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Criterion {
    /// Sum of |w| of the producers' output slices (Li et al. 2017).
    L1,
    /// L2 norm of the producers' output slices.
    L2,
    /// Mean |activation| of the channel on calibration data (run through the model).
    Activation,
    /// First-order Taylor estimate of the loss change when the channel is removed
    /// (Molchanov et al. 2019): `|sum w * dL/dw|` over the channel's producer weights, biases
    /// and BatchNorm parameters, averaged over labelled calibration batches (gradients from
    /// the training engine's autodiff). Calibration samples are `[inputs.., labels]`.
    Taylor,
}

/// Which groups a structured method touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Groups produced by convolutions (filter/channel pruning).
    Channels,
    /// Groups produced by Gemm/MatMul (neuron pruning).
    Neurons,
}

/// One group's outcome, for reports.
#[derive(Debug, Clone)]
pub struct GroupReport {
    /// Names of the producing nodes.
    pub producers: Vec<String>,
    /// Channels before.
    pub channels: usize,
    /// Channels removed.
    pub removed: usize,
    /// Why the group was left alone, if it was.
    pub skipped: Option<String>,
}

/// Importance of every union-find root (higher = keep).
pub fn importance(
    model: &Model,
    dg: &DepGraph,
    criterion: Criterion,
    calibration: &[Vec<Tensor>],
) -> Result<BTreeMap<usize, f64>> {
    let mut imp: BTreeMap<usize, f64> = BTreeMap::new();
    match criterion {
        Criterion::L1 | Criterion::L2 => {
            let p = if criterion == Criterion::L1 { 1 } else { 2 };
            for s in dg.params.iter().filter(|s| s.role == Role::Out) {
                let t = &model.graph.initializers[&s.tensor];
                for (c, n) in norms_along(t, s.axis, p)?.into_iter().enumerate() {
                    if let Some(e) = dg.element(s.channels, c) {
                        *imp.entry(dg.find(e)).or_default() += n;
                    }
                }
            }
        }
        Criterion::Activation => {
            if calibration.is_empty() {
                return Err(PruneError::Input(
                    "the activation criterion needs calibration inputs".into(),
                ));
            }
            let producers: BTreeSet<ValueId> = dg
                .params
                .iter()
                .filter(|s| s.role == Role::Out)
                .map(|s| s.channels)
                .collect();
            let mut probe = model.clone();
            let extra: Vec<ValueId> = producers.iter().copied().collect();
            probe.graph.outputs.extend(&extra);
            let skip = model.graph.outputs.len();
            for feeds in calibration {
                let vals = feeds.iter().cloned().map(Value::Tensor).collect();
                let outs = run_model(&probe, vals)?;
                for (v, out) in extra.iter().zip(&outs[skip..]) {
                    let (Some(t), Some(tr)) = (out.as_tensor(), dg.tracked(*v)) else {
                        continue;
                    };
                    let n = tr.size.max(1);
                    let per = norms_along(t, tr.axis, 1)?;
                    let scale = (t.len() / n).max(1) as f64 * calibration.len() as f64;
                    for (c, a) in per.into_iter().enumerate() {
                        if let Some(e) = dg.element(*v, c) {
                            *imp.entry(dg.find(e)).or_default() += a / scale;
                        }
                    }
                }
            }
        }
        Criterion::Taylor => return crate::taylor::importance(model, dg, calibration),
    }
    Ok(imp)
}

fn is_target(model: &Model, g: &Group, target: Target) -> bool {
    let conv =
        |n: &edgeopt_ir::NodeId| matches!(model.graph.node(*n).op_type(), "Conv" | "ConvTranspose");
    match target {
        Target::Channels => g.producers.iter().any(conv),
        Target::Neurons => !g.producers.is_empty() && !g.producers.iter().any(conv),
    }
}

/// Channels kept of `units` when removing `sparsity` of them, rounded to the nearest multiple
/// of `round_to` (at least `round_to`, at most `units`; groups smaller than `round_to` are not
/// rounded) so the shrunk layers keep vector-friendly channel counts.
pub fn kept_count(units: usize, sparsity: f64, round_to: usize) -> usize {
    let removed = ((units as f64) * sparsity.clamp(0.0, 1.0) + 1e-9).floor() as usize;
    let keep = units.saturating_sub(removed).max(1).min(units);
    if round_to <= 1 || units < round_to {
        return keep;
    }
    let rounded = (keep + round_to / 2) / round_to * round_to;
    rounded.clamp(round_to, units)
}

/// Chooses, in every prunable group of `target`, the `sparsity` fraction of channels with the
/// lowest importance (keeping at least one, and a multiple of `round_to` when the group has at
/// least that many, see [`kept_count`]), and returns their roots and a report per group.
/// `per_group` overrides the ratio for the group whose first producer has that name.
pub fn select(
    model: &Model,
    dg: &DepGraph,
    target: Target,
    sparsity: f64,
    per_group: &BTreeMap<String, f64>,
    imp: &BTreeMap<usize, f64>,
    round_to: usize,
) -> (BTreeSet<usize>, Vec<GroupReport>) {
    let mut removed = BTreeSet::new();
    let mut reports = Vec::new();
    for g in dg.groups(&model.graph) {
        let names: Vec<String> = g
            .producers
            .iter()
            .map(|n| model.graph.node(*n).name.clone())
            .collect();
        let mut rep = GroupReport {
            producers: names.clone(),
            channels: g.units.len(),
            removed: 0,
            skipped: g.blocked.clone(),
        };
        if g.blocked.is_some() || !is_target(model, &g, target) {
            if is_target(model, &g, target) || g.producers.is_empty() {
                reports.push(rep);
            }
            continue;
        }
        let s = names
            .first()
            .and_then(|n| per_group.get(n))
            .copied()
            .unwrap_or(sparsity);
        let n = g.units.len() - kept_count(g.units.len(), s, round_to);
        let mut units = g.units.clone();
        units.sort_by(|a, b| {
            let (x, y) = (imp.get(a).unwrap_or(&0.0), imp.get(b).unwrap_or(&0.0));
            x.total_cmp(y).then(a.cmp(b))
        });
        removed.extend(units.into_iter().take(n));
        rep.removed = n;
        reports.push(rep);
    }
    (removed, reports)
}

/// Structured pruning end to end: analyze, measure, select (channel counts rounded to
/// multiples of `round_to`, 1: no rounding), apply.
pub fn prune_structured(
    model: &mut Model,
    target: Target,
    criterion: Criterion,
    sparsity: f64,
    calibration: &[Vec<Tensor>],
    how: Apply,
    round_to: usize,
) -> Result<Vec<GroupReport>> {
    let dg = crate::rules::analyze(&model.graph);
    let imp = importance(model, &dg, criterion, calibration)?;
    let (removed, reports) = select(
        model,
        &dg,
        target,
        sparsity,
        &BTreeMap::new(),
        &imp,
        round_to,
    );
    apply_plan(model, &dg, &removed, how)?;
    Ok(reports)
}

/// Channels of every prunable group of `target`, by the name of its first producer.
pub fn group_sizes(model: &Model, target: Target) -> BTreeMap<String, usize> {
    let dg = crate::rules::analyze(&model.graph);
    dg.groups(&model.graph)
        .into_iter()
        .filter(|g| g.blocked.is_none() && is_target(model, g, target))
        .filter_map(|g| {
            let first = g.producers.first()?;
            Some((model.graph.node(*first).name.clone(), g.units.len()))
        })
        .collect()
}

/// Structured pruning (shrinking) of an already pruned model to a cumulative `sparsity` of
/// the `original` group sizes ([`group_sizes`] of the unpruned model): each group keeps
/// [`kept_count`]`(original, sparsity, round_to)` channels. For gradual schedules.
pub fn prune_structured_to(
    model: &mut Model,
    target: Target,
    criterion: Criterion,
    sparsity: f64,
    calibration: &[Vec<Tensor>],
    original: &BTreeMap<String, usize>,
    round_to: usize,
) -> Result<Vec<GroupReport>> {
    let dg = crate::rules::analyze(&model.graph);
    let imp = importance(model, &dg, criterion, calibration)?;
    let now = group_sizes(model, target);
    let per_group: BTreeMap<String, f64> = now
        .iter()
        .map(|(name, &cur)| {
            let orig = original.get(name).copied().unwrap_or(cur);
            let keep = kept_count(orig, sparsity, round_to).min(cur);
            (name.clone(), 1.0 - keep as f64 / cur.max(1) as f64)
        })
        .collect();
    let (removed, reports) = select(model, &dg, target, sparsity, &per_group, &imp, 1);
    apply_plan(model, &dg, &removed, Apply::Shrink)?;
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::kept_count;

    #[test]
    fn kept_counts_round_to_multiples() {
        assert_eq!(kept_count(64, 0.5, 1), 32);
        assert_eq!(kept_count(24, 0.5, 1), 12);
        assert_eq!(kept_count(24, 0.5, 8), 16);
        assert_eq!(kept_count(24, 0.5, 16), 16);
        assert_eq!(kept_count(96, 0.5, 16), 48);
        assert_eq!(kept_count(100, 0.5, 16), 48);
        assert_eq!(kept_count(100, 0.3, 16), 64);
        // Never below one multiple, never above the group, small groups untouched.
        assert_eq!(kept_count(20, 0.9, 16), 16);
        assert_eq!(kept_count(12, 0.5, 16), 6);
        assert_eq!(kept_count(7, 1.0, 1), 1);
        assert_eq!(kept_count(10, 0.3, 1), 7);
    }
}
