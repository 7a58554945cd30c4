//! Calibration: runs the float model over the samples with every tensor to be quantized added as
//! a graph output, and streams min/max (pass 1) and, for histogram methods, histograms (pass 2)
//! per tensor. Only one sample's activations are alive at a time.

use crate::engine::Engine;
use crate::histogram::{Method, Stats};
use crate::{QuantError, Result};
use edgeopt_ir::{Model, Value, ValueId};
use edgeopt_tensor::{DType, Dim, Tensor};
use std::collections::HashMap;

/// Called as `(phase, done, total)` after each sample.
pub type Progress<'a> = &'a mut dyn FnMut(&str, usize, usize);

/// Checks every sample against the model's feed inputs: count, dtype, static dims, and finite
/// values. Errors name the sample and the input.
pub fn validate_samples(model: &Model, samples: &[Vec<Tensor>]) -> Result<()> {
    let g = &model.graph;
    let feeds = edgeopt_ir::exec::feed_inputs(g);
    if samples.is_empty() {
        return Err(QuantError::Data("the calibration set is empty".into()));
    }
    for (i, s) in samples.iter().enumerate() {
        if s.len() != feeds.len() {
            return Err(QuantError::Data(format!(
                "sample {i} has {} inputs, the model takes {}",
                s.len(),
                feeds.len()
            )));
        }
        for (t, &id) in s.iter().zip(&feeds) {
            let v = g.value(id);
            let want = v.ty.dtype();
            if want.is_some_and(|d| d != t.dtype()) {
                return Err(QuantError::Data(format!(
                    "sample {i}, input '{}': dtype {} but the model expects {}",
                    v.name,
                    t.dtype(),
                    want.map(|d| d.to_string()).unwrap_or_default()
                )));
            }
            if let Some(shape) = v.ty.shape() {
                let ok = shape.len() == t.rank()
                    && shape
                        .iter()
                        .zip(t.shape())
                        .all(|(d, &n)| !matches!(d, Dim::Known(k) if *k != n));
                if !ok {
                    return Err(QuantError::Data(format!(
                        "sample {i}, input '{}': shape {:?} does not match the model's {}",
                        v.name,
                        t.shape(),
                        v.ty
                    )));
                }
            }
            if t.dtype().is_float() {
                let vals = t.to_f64_vec()?;
                if let Some(k) = vals.iter().position(|x| !x.is_finite()) {
                    return Err(QuantError::Data(format!(
                        "sample {i}, input '{}': element {k} is {} (calibration data must be finite)",
                        v.name, vals[k]
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The model with `extra` values appended to its outputs (skipping ones already there).
pub fn probe_model(model: &Model, extra: &[ValueId]) -> Model {
    let mut m = model.clone();
    for &v in extra {
        if !m.graph.outputs.contains(&v) {
            m.graph.outputs.push(v);
        }
    }
    m
}

/// Float values of a run output, or `None` for non-float / non-tensor values.
pub fn float_values(v: &Value) -> Option<Vec<f32>> {
    let t = v.as_tensor()?;
    match t.dtype() {
        DType::F32 => t.as_slice::<f32>().ok().map(|s| s.to_vec()),
        d if d.is_float() => t
            .to_f64_vec()
            .ok()
            .map(|v| v.into_iter().map(|x| x as f32).collect()),
        _ => None,
    }
}

/// Statistics of the tensors named `tensors` over `samples`.
pub fn collect_stats(
    model: &Model,
    tensors: &[String],
    samples: &[Vec<Tensor>],
    method: Method,
    engine: &dyn Engine,
    progress: Progress,
) -> Result<HashMap<String, Stats>> {
    validate_samples(model, samples)?;
    let ids: Vec<ValueId> = tensors
        .iter()
        .map(|n| {
            model.graph.find(n).ok_or_else(|| {
                QuantError::Config(format!("calibration: the model has no tensor '{n}'"))
            })
        })
        .collect::<Result<_>>()?;
    let probe = probe_model(model, &ids);
    let slot: Vec<usize> = ids
        .iter()
        .map(|id| {
            probe
                .graph
                .outputs
                .iter()
                .position(|o| o == id)
                .unwrap_or(0)
        })
        .collect();
    let mut runner = engine.prepare(&probe)?;
    let mut stats: Vec<Stats> = vec![Stats::default(); ids.len()];
    let passes = if method.needs_histogram() { 2 } else { 1 };
    for pass in 0..passes {
        let phase = if pass == 0 {
            "calibrating (range)"
        } else {
            "calibrating (histogram)"
        };
        for (i, s) in samples.iter().enumerate() {
            let outs = runner
                .run(s.iter().cloned().map(Value::Tensor).collect())
                .map_err(|e| QuantError::Data(format!("calibration sample {i}: {e}")))?;
            for (k, st) in stats.iter_mut().enumerate() {
                if let Some(xs) = outs.get(slot[k]).and_then(float_values) {
                    if pass == 0 {
                        st.observe_range(&xs);
                    } else {
                        st.observe_histogram(&xs);
                    }
                }
            }
            progress(phase, i + 1, samples.len());
        }
        if pass == 0 && passes == 2 {
            stats.iter_mut().for_each(Stats::start_histogram);
        }
    }
    Ok(tensors.iter().cloned().zip(stats).collect())
}
