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

/// Chooses, in every prunable group of `target`, the `sparsity` fraction of channels with the
/// lowest importance (keeping at least one), and returns their roots and a report per group.
/// `per_group` overrides the ratio for the group whose first producer has that name.
pub fn select(
    model: &Model,
    dg: &DepGraph,
    target: Target,
    sparsity: f64,
    per_group: &BTreeMap<String, f64>,
    imp: &BTreeMap<usize, f64>,
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
            .unwrap_or(sparsity)
            .clamp(0.0, 1.0);
        let n = ((g.units.len() as f64) * s).floor() as usize;
        let n = n.min(g.units.len().saturating_sub(1));
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

/// Structured pruning end to end: analyze, measure, select, apply.
pub fn prune_structured(
    model: &mut Model,
    target: Target,
    criterion: Criterion,
    sparsity: f64,
    calibration: &[Vec<Tensor>],
    how: Apply,
) -> Result<Vec<GroupReport>> {
    let dg = crate::rules::analyze(&model.graph);
    let imp = importance(model, &dg, criterion, calibration)?;
    let (removed, reports) = select(model, &dg, target, sparsity, &BTreeMap::new(), &imp);
    apply_plan(model, &dg, &removed, how)?;
    Ok(reports)
}
