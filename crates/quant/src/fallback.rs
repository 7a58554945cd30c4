//! Accuracy-aware fallback: when the fully quantized model misses a target (top-1 agreement
//! with the float model, an accuracy drop with labels, or the cosine similarity of every output
//! for maps such as a detector's), the most sensitive quantized layers
//! go back to float, 1, 2, 4, ... at a time, until the target is met.
//! Sensitivity of a layer is the SQNR it loses: SQNR of its (worst) quantized input minus SQNR
//! of its quantized output, measured on the fully quantized model.

use crate::calibrate::Progress;
use crate::engine::Engine;
use crate::histogram::Stats;
use crate::report::{compare, compare_with, Report};
use crate::static_quant::{quantize_with_stats, StaticConfig, StaticResult};
use crate::{QuantError, Result};
use edgeopt_ir::Model;
use edgeopt_tensor::Tensor;
use std::collections::HashMap;

/// The goal of the fallback search.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// Top-1 agreement with the float model of at least this share.
    Agreement(f64),
    /// Top-1 accuracy (with labels) at most this much below the float model's.
    MaxDrop(f64),
    /// Cosine similarity of every output with the float model's of at least this.
    Cosine(f64),
}

impl Target {
    fn met(&self, r: &Report) -> Result<bool> {
        match *self {
            Target::Agreement(t) => r.top1_agreement.map(|a| a >= t).ok_or_else(|| {
                QuantError::Config(
                    "--target-agreement needs a model whose first output is 2-D (batch x classes)"
                        .into(),
                )
            }),
            Target::MaxDrop(d) => r.accuracy.map(|(f, q)| f - q <= d).ok_or_else(|| {
                QuantError::Config("--max-drop needs labels and a 2-D first output".into())
            }),
            Target::Cosine(c) => Ok(r.outputs.iter().all(|o| o.cosine >= c)),
        }
    }
}

/// The outcome: the model, its report, and the layers kept in float (most sensitive first).
pub struct Fallback {
    pub result: StaticResult,
    pub report: Report,
    pub float_layers: Vec<String>,
    /// `(layer, sensitivity in dB)` for every quantized layer, most sensitive first.
    pub ranking: Vec<(String, f64)>,
    /// Each model tried: `(layers in float, lowest output cosine, top-1 agreement)`.
    pub steps: Vec<(usize, f64, Option<f64>)>,
}

fn step(k: usize, r: &Report) -> (usize, f64, Option<f64>) {
    let cos = r.outputs.iter().map(|o| o.cosine).fold(1.0, f64::min);
    (k, cos, r.top1_agreement)
}

/// Layers ranked by the SQNR they lose, from a report of the fully quantized model.
pub fn rank_layers(model: &Model, quantized: &[String], report: &Report) -> Vec<(String, f64)> {
    let g = &model.graph;
    let sqnr: HashMap<&str, f64> = report
        .layers
        .iter()
        .chain(&report.outputs)
        .map(|t| (t.name.as_str(), t.sqnr_db))
        .collect();
    let mut ranked: Vec<(String, f64)> = quantized
        .iter()
        .filter_map(|name| {
            let n = g.nodes.iter().find(|n| &n.name == name)?;
            let inp = n
                .inputs
                .iter()
                .flatten()
                .filter_map(|v| sqnr.get(g.value(*v).name.as_str()))
                .fold(200.0f64, |a, &b| a.min(b));
            let out = n
                .outputs
                .iter()
                .flatten()
                .filter_map(|v| sqnr.get(g.value(*v).name.as_str()))
                .fold(200.0f64, |a, &b| a.min(b));
            Some((name.clone(), inp - out))
        })
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked
}

/// Quantizes with `stats`, then moves layers back to float until `target` holds on `eval`.
#[allow(clippy::too_many_arguments)]
pub fn quantize_with_fallback(
    model: &Model,
    stats: &HashMap<String, Stats>,
    cfg: &StaticConfig,
    eval: &[Vec<Tensor>],
    labels: Option<&[usize]>,
    target: Target,
    engine: &dyn Engine,
    progress: Progress,
) -> Result<Fallback> {
    let full = quantize_with_stats(model, stats, cfg)?;
    let report = compare(model, &full.model, eval, labels, engine, progress)?;
    let ranking = rank_layers(model, &full.quantized_nodes, &report);
    let mut steps = vec![step(0, &report)];
    if target.met(&report)? {
        return Ok(Fallback {
            result: full,
            report,
            float_layers: Vec::new(),
            ranking,
            steps,
        });
    }
    let mut k = 1;
    loop {
        let k_now = k.min(ranking.len());
        let float_layers: Vec<String> = ranking[..k_now].iter().map(|r| r.0.clone()).collect();
        let mut c = cfg.clone();
        c.selection.exclude.extend(float_layers.iter().cloned());
        let result = quantize_with_stats(model, stats, &c)?;
        let report = compare_with(model, &result.model, eval, labels, engine, progress, false)?;
        steps.push(step(k_now, &report));
        if target.met(&report)? || k_now == ranking.len() {
            return Ok(Fallback {
                result,
                report,
                float_layers,
                ranking,
                steps,
            });
        }
        k *= 2;
    }
}
