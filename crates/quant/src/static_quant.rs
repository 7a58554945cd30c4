//! Static post-training quantization: preprocess, plan, calibrate, rewrite.

use crate::build::{ensure_opset, finish};
use crate::calibrate::{collect_stats, Progress};
use crate::engine::Engine;
use crate::histogram::{Method, Stats};
use crate::params::{QParams, QType};
use crate::plan::{plan, Plan, Selection};
use crate::qdq::{apply, QdqTypes};
use crate::Result;
use edgeopt_ir::{Model, ValueId};
use edgeopt_tensor::Tensor;
use std::collections::HashMap;

/// Options of [`quantize_static`]; the default is ORT's: u8 asymmetric activations, symmetric
/// per-channel i8 weights, min/max calibration.
#[derive(Clone, Debug)]
pub struct StaticConfig {
    pub activation_type: QType,
    pub weight_type: QType,
    pub per_channel: bool,
    pub symmetric_activations: bool,
    pub symmetric_weights: bool,
    pub reduce_range: bool,
    pub method: Method,
    pub selection: Selection,
}

impl Default for StaticConfig {
    fn default() -> Self {
        StaticConfig {
            activation_type: QType::U8,
            weight_type: QType::I8,
            per_channel: true,
            symmetric_activations: false,
            symmetric_weights: true,
            reduce_range: false,
            method: Method::MinMax,
            selection: Selection::default(),
        }
    }
}

/// The quantized model and what was done.
#[derive(Clone, Debug)]
pub struct StaticResult {
    pub model: Model,
    /// Names of the quantized nodes (group heads).
    pub quantized_nodes: Vec<String>,
    /// Activation parameters by tensor name.
    pub activation_params: HashMap<String, QParams>,
    /// What differs from the request (e.g. per-tensor weights for models below opset 13).
    pub notes: Vec<String>,
}

/// Exact graph rewrites [`preprocess_with`] applies before calibration.
#[derive(Clone, Copy, Debug)]
pub struct Prep {
    /// Fold per-channel affine ops into convolutions and fuse decomposed HardSwish
    /// ([`crate::fold_affine`]), so Q/DQ pairs sit between layers, not inside them.
    pub fold_affine: bool,
    /// Cross-layer equalization ([`crate::equalize`]).
    pub equalize: Equalize,
}

/// How [`crate::equalize`] picks the per-channel scales.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Equalize {
    Off,
    /// From the weights alone (Nagel et al.), in [`preprocess_with`].
    Weights,
    /// From output-channel ranges measured on calibration data, in [`equalize_with_data`].
    Data,
}

impl Default for Prep {
    fn default() -> Self {
        Prep {
            fold_affine: true,
            equalize: Equalize::Off,
        }
    }
}

/// Data-aware cross-layer equalization ([`Equalize::Data`]): measures the ranges of the
/// equalizable intermediates on `samples` and rescales. Returns a note.
pub fn equalize_with_data(
    model: &mut Model,
    samples: &[Vec<Tensor>],
    engine: &dyn Engine,
    progress: Progress,
) -> Result<String> {
    crate::calibrate::validate_samples(model, samples)?;
    let mids: Vec<ValueId> = crate::equalize::find_pairs(model)
        .iter()
        .map(|p| p.mid)
        .collect();
    if mids.is_empty() {
        return Ok("equalized 0 layer pairs".into());
    }
    let ranges = crate::equalize::channel_ranges(model, &mids, samples, engine, progress)?;
    let n = crate::equalize::equalize(model, Some(&ranges), 1)?;
    Ok(format!("equalized {n} layer pairs (data-aware)"))
}

/// [`preprocess_with`] with the default [`Prep`].
pub fn preprocess(model: &mut Model) -> Result<Vec<String>> {
    preprocess_with(model, &Prep::default())
}

/// Upgrades models below opset 13 to 13 when every op converts (per-channel weights need
/// QuantizeLinear's `axis`), folds BatchNormalization into convolutions and cleans up (dead
/// nodes), keeping only standard ONNX ops, so weights are quantized after folding; then the
/// rewrites `prep` asks for. Returns notes (e.g. why the opset stayed, what was folded).
pub fn preprocess_with(model: &mut Model, prep: &Prep) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    if model.opset() < 13 {
        if let Err(e) = ensure_opset(model, 13) {
            notes.push(format!("opset kept: {e}"));
        }
    }
    let cfg = edgeopt_passes::Config {
        opt_level: 1,
        enable: vec!["fold_batch_norm".into(), "eliminate_dead_nodes".into()],
        ..Default::default()
    };
    edgeopt_passes::Pipeline::new(cfg.clone())?.run(model)?;
    if prep.fold_affine {
        let r = crate::fold_affine::fold_affine(model)?;
        // A BatchNormalization behind a folded bias Add now follows its convolution.
        edgeopt_passes::Pipeline::new(cfg)?.run(model)?;
        if r != Default::default() {
            notes.push(format!(
                "folded {} affine ops into convolutions, {} input scales, fused {} HardSwish",
                r.output_affine, r.input_scale, r.hard_swish
            ));
        }
    }
    if prep.equalize == Equalize::Weights {
        let n = crate::equalize::equalize(model, None, 4)?;
        notes.push(format!(
            "equalized {n} layer pairs (from weights, 4 rounds)"
        ));
    }
    Ok(notes)
}

pub(crate) fn act_params(
    model: &Model,
    p: &Plan,
    stats: &HashMap<String, Stats>,
    cfg: &StaticConfig,
) -> HashMap<ValueId, QParams> {
    let g = &model.graph;
    let mut out = HashMap::new();
    for &v in &p.activations {
        if p.shared.contains_key(&v) {
            continue;
        }
        if let Some(s) = stats.get(&g.value(v).name) {
            let (lo, hi) = s.range(cfg.method, cfg.activation_type, cfg.symmetric_activations);
            out.insert(
                v,
                QParams::from_range(
                    lo,
                    hi,
                    cfg.activation_type,
                    cfg.symmetric_activations,
                    false,
                ),
            );
        }
    }
    // Pass-through outputs reuse their input's parameters (chains resolve in graph order).
    for &v in &p.activations {
        if let Some(src) = p.shared.get(&v) {
            if let Some(&q) = out.get(src) {
                out.insert(v, q);
            }
        }
    }
    out
}

/// Calibration statistics (by tensor name) of every activation `cfg` would quantize.
pub fn calibrate(
    model: &Model,
    samples: &[Vec<Tensor>],
    cfg: &StaticConfig,
    engine: &dyn Engine,
    progress: Progress,
) -> Result<HashMap<String, Stats>> {
    let p = plan(&model.graph, &cfg.selection, cfg.per_channel);
    let names: Vec<String> = p
        .activations
        .iter()
        .filter(|v| !p.shared.contains_key(v))
        .map(|&v| model.graph.value(v).name.clone())
        .collect();
    collect_stats(model, &names, samples, cfg.method, engine, progress)
}

/// Quantizes `model` with calibration statistics from [`calibrate`] (possibly made for a wider
/// selection: tensors without statistics stay in float).
pub fn quantize_with_stats(
    model: &Model,
    stats: &HashMap<String, Stats>,
    cfg: &StaticConfig,
) -> Result<StaticResult> {
    let mut out = model.clone();
    let mut notes = Vec::new();
    let mut per_channel = cfg.per_channel;
    if out.opset() < 10 {
        ensure_opset(&mut out, 10)?;
    }
    if let Err(e) = ensure_opset(&mut out, 13) {
        // QuantizeLinear before opset 13 has no axis: per-tensor weights keep the model's opset.
        if per_channel {
            notes.push(format!("per-tensor weights: {e}"));
            per_channel = false;
        }
    }
    // Planned on the upgraded graph: conversion may have rewired nodes (e.g. Softmax).
    let p = plan(&out.graph, &cfg.selection, per_channel);
    let acts = act_params(&out, &p, stats, cfg);
    let opset = out.opset();
    let types = QdqTypes {
        activation: cfg.activation_type,
        weight: cfg.weight_type,
        symmetric_weights: cfg.symmetric_weights,
        reduce_range: cfg.reduce_range,
    };
    apply(&mut out.graph, opset, &p, &acts, types)?;
    finish(&mut out)?;
    let activation_params = acts
        .iter()
        .map(|(v, q)| (out.graph.value(*v).name.clone(), *q))
        .collect();
    Ok(StaticResult {
        model: out,
        quantized_nodes: p.nodes,
        activation_params,
        notes,
    })
}

/// Quantizes `model` (already preprocessed if wanted) with activation ranges calibrated on
/// `samples` (positional over the feed inputs). The input model is not modified.
pub fn quantize_static(
    model: &Model,
    samples: &[Vec<Tensor>],
    cfg: &StaticConfig,
    engine: &dyn Engine,
    progress: Progress,
) -> Result<StaticResult> {
    let stats = calibrate(model, samples, cfg, engine, progress)?;
    quantize_with_stats(model, &stats, cfg)
}
