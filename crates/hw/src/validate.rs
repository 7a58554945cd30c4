//! Validation of the host cost model: whole models (zoo models at several widths, depths and
//! resolutions, plus ONNX files) estimated on the runtime's prepared graph and measured
//! through the runtime's `Session` (1 thread, median of N runs). The host model is calibrated
//! on the single-layer models of [`crate::suite`], never on these whole models.

use crate::calibrate::{median, session, time_runs, Clock};
use crate::estimate::{estimate, prepare_runtime, EstimateOptions};
use crate::profile::Profile;
use crate::{HwError, Result};
use edgeopt_ir::Model;
use edgeopt_tensor::Tensor;
use edgeopt_zoo::{BatchDim, ZooConfig};
use serde::Serialize;
use std::path::Path;

/// One model to validate on: its graph and the input shapes to run it at.
pub struct ValidationCase {
    pub name: String,
    pub model: Model,
    pub shapes: Vec<(String, Vec<usize>)>,
}

/// Predicted vs measured latency of one model.
#[derive(Clone, Debug, Serialize)]
pub struct ValidationRow {
    pub name: String,
    pub macs: u64,
    pub predicted_s: f64,
    pub measured_s: f64,
    /// (predicted - measured) / measured.
    pub rel_error: f64,
    /// Nodes that ran through the reference eval (the host model does not cover them).
    pub fallback_nodes: usize,
}

/// The whole validation.
#[derive(Clone, Debug, Serialize)]
pub struct ValidationReport {
    pub device: String,
    pub clock: Clock,
    pub runs: usize,
    pub rows: Vec<ValidationRow>,
    /// Share of models within ±10% of the measured latency.
    pub within_10pct: f64,
    pub median_abs_rel_error: f64,
    pub spearman: f64,
    /// Models that could not be run or estimated, with why.
    pub skipped: Vec<(String, String)>,
}

fn zoo(name: &str, width: f32, depth: f32, resolution: Option<usize>) -> Result<ValidationCase> {
    let cfg = ZooConfig {
        width,
        depth,
        resolution,
        batch: BatchDim::Fixed(1),
        ..ZooConfig::default()
    };
    let model =
        edgeopt_zoo::build(name, &cfg).map_err(|e| HwError::Invalid(format!("zoo {name}: {e}")))?;
    let res = resolution.map_or(String::new(), |r| format!(" r{r}"));
    Ok(ValidationCase {
        name: format!("{name} w{width} d{depth}{res}"),
        model,
        shapes: Vec::new(),
    })
}

/// The zoo part of the validation set (32 models).
pub fn zoo_cases() -> Result<Vec<ValidationCase>> {
    let mut v = Vec::new();
    for w in [0.25, 0.5, 1.0, 2.0, 4.0] {
        v.push(zoo("mlp", w, 1.0, None)?);
    }
    for w in [0.5, 1.0, 2.0, 4.0] {
        v.push(zoo("lenet", w, 1.0, None)?);
    }
    for (w, r) in [(0.5, 28), (1.0, 28), (2.0, 28), (1.0, 56), (0.5, 96)] {
        v.push(zoo("cnn", w, 1.0, Some(r))?);
    }
    for (w, d, r) in [
        (0.5, 1.0, 32),
        (1.0, 1.0, 32),
        (2.0, 1.0, 32),
        (1.0, 2.0, 32),
        (0.5, 1.0, 64),
        (1.0, 1.0, 64),
        (0.25, 1.0, 96),
        (1.0, 0.5, 48),
    ] {
        v.push(zoo("resnet", w, d, Some(r))?);
    }
    for (w, d, r) in [
        (0.35, 1.0, 96),
        (0.5, 1.0, 96),
        (1.0, 1.0, 96),
        (0.5, 1.0, 128),
        (0.75, 1.0, 128),
        (1.0, 1.0, 128),
        (0.35, 0.5, 160),
        (0.5, 1.0, 160),
        (1.0, 0.5, 160),
        (1.0, 1.0, 224),
    ] {
        v.push(zoo("mobilenetv2", w, d, Some(r))?);
    }
    Ok(v)
}

/// Input shapes for an ONNX file: declared dims, a symbolic first (batch) dim as 1, and the
/// PP-OCR models' usual sizes for their dynamic dims (det 320x320, cls 48x192, rec 48x320).
fn file_shapes(name: &str, model: &Model) -> Result<Vec<(String, Vec<usize>)>> {
    let g = &model.graph;
    let hw = if name.contains("det") {
        Some((320, 320))
    } else if name.contains("cls") {
        Some((48, 192))
    } else if name.contains("rec") {
        Some((48, 320))
    } else {
        None
    };
    edgeopt_ir::exec::feed_inputs(g)
        .into_iter()
        .map(|id| {
            let v = g.value(id);
            let dims =
                v.ty.shape()
                    .ok_or_else(|| HwError::Invalid(format!("input '{}' has no shape", v.name)))?;
            let shape = dims
                .iter()
                .enumerate()
                .map(|(i, d)| match (d.known(), i, hw) {
                    (Some(n), _, _) => Ok(n),
                    (None, 0, _) => Ok(1),
                    (None, 2, Some((h, _))) => Ok(h),
                    (None, 3, Some((_, w))) => Ok(w),
                    _ => Err(HwError::Invalid(format!(
                        "input '{}' has a dynamic dim {i}",
                        v.name
                    ))),
                })
                .collect::<Result<Vec<usize>>>()?;
            Ok((v.name.clone(), shape))
        })
        .collect()
}

/// An ONNX file as a validation case.
pub fn file_case(path: &Path) -> Result<ValidationCase> {
    let model = edgeopt_onnx::load_model(path, &edgeopt_onnx::LoadOptions::default())
        .map_err(|e| HwError::Invalid(format!("{}: {e}", path.display())))?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    let shapes = file_shapes(&name, &model)?;
    Ok(ValidationCase {
        name,
        model,
        shapes,
    })
}

fn inputs(shapes: &[(String, Vec<usize>)]) -> Result<Vec<Tensor>> {
    shapes
        .iter()
        .enumerate()
        .map(|(i, (_, s))| {
            let n = edgeopt_tensor::shape::checked_numel(s)
                .map_err(|e| HwError::Invalid(e.to_string()))?;
            let data = edgeopt_passes::testing::random_vec(n, 11 + i as u64);
            Tensor::from_vec(s.clone(), data).map_err(|e| HwError::Invalid(e.to_string()))
        })
        .collect()
}

/// Estimates and measures one case (1 thread).
pub fn validate_one(
    case: &ValidationCase,
    profile: &Profile,
    runs: usize,
    clock: Clock,
) -> Result<ValidationRow> {
    let mut opts = EstimateOptions::default();
    let prepared = prepare_runtime(&case.model, &case.shapes, &mut opts)?;
    let e = estimate(&prepared, profile, &opts)?;
    let shapes = if case.shapes.is_empty() {
        file_shapes("", &case.model)?
    } else {
        case.shapes.clone()
    };
    let mut model = case.model.clone();
    let refs: Vec<(&str, &[usize])> = shapes
        .iter()
        .map(|(n, s)| (n.as_str(), s.as_slice()))
        .collect();
    edgeopt_passes::specialize_inputs(&mut model, &refs)?;
    let mut s = session(&model, 1)?;
    let measured_s = time_runs(&mut s, &inputs(&shapes)?, runs, clock)?;
    Ok(ValidationRow {
        name: case.name.clone(),
        macs: e.macs,
        predicted_s: e.latency_s,
        measured_s,
        rel_error: (e.latency_s - measured_s) / measured_s.max(1e-12),
        fallback_nodes: s.fallback_nodes().len(),
    })
}

/// Ranks (1-based, ties averaged).
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman rank correlation of `a` and `b` (Pearson on ranks); 0 for fewer than 2 points.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    if n < 2 {
        return 0.0;
    }
    let (ra, rb) = (ranks(&a[..n]), ranks(&b[..n]));
    let mean = (n as f64 + 1.0) / 2.0;
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        cov += (x - mean) * (y - mean);
        va += (x - mean).powi(2);
        vb += (y - mean).powi(2);
    }
    if va == 0.0 || vb == 0.0 {
        0.0
    } else {
        cov / (va * vb).sqrt()
    }
}

/// Validates `profile` on `cases`; failures are reported as skipped, not fatal.
pub fn validate(
    cases: &[ValidationCase],
    profile: &Profile,
    runs: usize,
    clock: Clock,
) -> ValidationReport {
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    for c in cases {
        match validate_one(c, profile, runs, clock) {
            Ok(r) => rows.push(r),
            Err(e) => skipped.push((c.name.clone(), e.to_string())),
        }
    }
    summarize(profile, clock, runs, rows, skipped)
}

/// The summary statistics over measured rows.
pub fn summarize(
    profile: &Profile,
    clock: Clock,
    runs: usize,
    rows: Vec<ValidationRow>,
    skipped: Vec<(String, String)>,
) -> ValidationReport {
    let n = rows.len().max(1) as f64;
    let within = rows.iter().filter(|r| r.rel_error.abs() <= 0.10).count() as f64 / n;
    let mut abs: Vec<f64> = rows.iter().map(|r| r.rel_error.abs()).collect();
    let p: Vec<f64> = rows.iter().map(|r| r.predicted_s).collect();
    let m: Vec<f64> = rows.iter().map(|r| r.measured_s).collect();
    ValidationReport {
        device: profile.device.name.clone(),
        clock,
        runs,
        within_10pct: within,
        median_abs_rel_error: median(&mut abs),
        spearman: spearman(&p, &m),
        rows,
        skipped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_of_monotone_and_reversed_data() {
        let a = [1.0, 2.0, 3.0, 10.0];
        assert!((spearman(&a, &[5.0, 6.0, 7.0, 8.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&a, &[4.0, 3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        // One swapped pair out of four: 1 - 6*2/(4*15) = 0.8.
        assert!((spearman(&a, &[1.0, 3.0, 2.0, 4.0]) - 0.8).abs() < 1e-12);
    }

    #[test]
    fn zoo_set_has_thirty_distinct_models() {
        let c = zoo_cases().unwrap();
        let mut names: Vec<&str> = c.iter().map(|c| c.name.as_str()).collect();
        names.sort();
        names.dedup();
        assert!(names.len() >= 30, "{}", names.len());
    }
}
