//! Validation of the host cost model: whole models (zoo models at several widths, depths and
//! resolutions, plus ONNX files) estimated on the runtime's prepared graph and measured
//! through the runtime's `Session` (1 thread, median of N runs). The host model is calibrated
//! on the single-layer models of [`crate::suite`], never on these whole models.

use crate::calibrate::{median, session, time_runs, Clock};
use crate::estimate::{estimate, prepare_runtime, EstimateOptions};
use crate::profile::Profile;
use crate::{HwError, Result};
use edgeopt_ir::Model;
use edgeopt_runtime::Session;
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
    /// Every timed run, seconds, in the order taken.
    pub times_s: Vec<f64>,
}

/// The whole validation.
#[derive(Clone, Debug, Serialize)]
pub struct ValidationReport {
    pub device: String,
    /// What the host model was calibrated on (disjoint from these models).
    pub calibration_set: String,
    pub clock: Clock,
    pub stat: Stat,
    pub runs: usize,
    pub rounds: usize,
    pub rows: Vec<ValidationRow>,
    /// Share of models within ±10% of the measured latency.
    pub within_10pct: f64,
    pub median_abs_rel_error: f64,
    pub spearman: f64,
    /// Share of models whose even and odd rounds agree within ±10% (measurement noise).
    pub self_agreement_10pct: f64,
    /// 1-minute load average when the measurement ended.
    pub load_average: f64,
    /// Models that could not be run or estimated, with why.
    pub skipped: Vec<(String, String)>,
}

/// A zoo model at batch 1 (`seed`: its random weights).
pub fn zoo_case(
    name: &str,
    width: f32,
    depth: f32,
    resolution: Option<usize>,
    seed: u64,
) -> Result<ValidationCase> {
    let cfg = ZooConfig {
        width,
        depth,
        resolution,
        seed,
        batch: BatchDim::Fixed(1),
        ..ZooConfig::default()
    };
    let model =
        edgeopt_zoo::build(name, &cfg).map_err(|e| HwError::Invalid(format!("zoo {name}: {e}")))?;
    let res = resolution.map_or(String::new(), |r| format!(" r{r}"));
    let seed = if seed == 0 {
        String::new()
    } else {
        format!(" seed{seed}")
    };
    Ok(ValidationCase {
        name: format!("{name} w{width} d{depth}{res}{seed}"),
        model,
        shapes: Vec::new(),
    })
}

/// The zoo part of the validation set (32 models).
pub fn zoo_cases() -> Result<Vec<ValidationCase>> {
    let mut v = Vec::new();
    for w in [0.25, 0.5, 1.0, 2.0, 4.0] {
        v.push(zoo_case("mlp", w, 1.0, None, 0)?);
    }
    for w in [0.5, 1.0, 2.0, 4.0] {
        v.push(zoo_case("lenet", w, 1.0, None, 0)?);
    }
    for (w, r) in [(0.5, 28), (1.0, 28), (2.0, 28), (1.0, 56), (0.5, 96)] {
        v.push(zoo_case("cnn", w, 1.0, Some(r), 0)?);
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
        v.push(zoo_case("resnet", w, d, Some(r), 0)?);
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
        v.push(zoo_case("mobilenetv2", w, d, Some(r), 0)?);
    }
    Ok(v)
}

/// The PP-OCR models' usual input sizes (H, W) for their dynamic dims, by file name: det
/// 320x320, cls 48x192, rec 48x320.
pub fn validation_size(name: &str) -> Option<(usize, usize)> {
    if name.contains("det") {
        Some((320, 320))
    } else if name.contains("cls") {
        Some((48, 192))
    } else if name.contains("rec") {
        Some((48, 320))
    } else {
        None
    }
}

/// Input shapes for an ONNX file: declared dims, a symbolic first (batch) dim as 1, and `hw`
/// for dynamic dims 2 and 3.
pub fn file_shapes_at(
    model: &Model,
    hw: Option<(usize, usize)>,
) -> Result<Vec<(String, Vec<usize>)>> {
    let g = &model.graph;
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
    let shapes = file_shapes_at(&model, validation_size(&name))?;
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

/// A case ready to time: its session (1 thread), inputs and the prediction.
pub struct Ready {
    pub row: ValidationRow,
    pub session: Session,
    pub inputs: Vec<Tensor>,
}

/// Estimates one case on the runtime's prepared graph and builds the session that measures it.
pub fn prepare_case(case: &ValidationCase, profile: &Profile) -> Result<Ready> {
    let shapes = if case.shapes.is_empty() {
        file_shapes_at(&case.model, None)?
    } else {
        case.shapes.clone()
    };
    let mut model = case.model.clone();
    let refs: Vec<(&str, &[usize])> = shapes
        .iter()
        .map(|(n, s)| (n.as_str(), s.as_slice()))
        .collect();
    edgeopt_passes::specialize_inputs(&mut model, &refs)?;
    let mut opts = EstimateOptions::default();
    let prepared = prepare_runtime(&model, &[], &mut opts)?;
    let e = estimate(&prepared, profile, &opts)?;
    let session = session(&model, 1)?;
    Ok(Ready {
        row: ValidationRow {
            name: case.name.clone(),
            macs: e.macs,
            predicted_s: e.latency_s,
            measured_s: 0.0,
            rel_error: 0.0,
            fallback_nodes: session.fallback_nodes().len(),
            times_s: Vec::new(),
        },
        session,
        inputs: inputs(&shapes)?,
    })
}

/// The statistic over a model's timed runs that is compared with the prediction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stat {
    /// The fastest run: on a shared machine the most reproducible (the others carry other
    /// processes' cache and core contention), and what calibration measures.
    Min,
    Median,
}

impl Stat {
    pub fn of(self, v: &[f64]) -> f64 {
        match self {
            Stat::Min => v.iter().copied().fold(f64::INFINITY, f64::min),
            Stat::Median => median(&mut v.to_vec()),
        }
    }
}

/// Times every ready case: `rounds` rounds over all cases (so load changes on a shared machine
/// hit every model alike), each a warm-up run and `runs / rounds` timed runs back to back
/// (caches warm as in repeated inference). Returns, per case, the times of each round.
pub fn measure_interleaved(
    ready: &mut [Ready],
    runs: usize,
    rounds: usize,
    clock: Clock,
) -> Vec<Vec<Vec<f64>>> {
    let rounds = rounds.clamp(1, runs.max(1));
    let per_round = runs.max(1).div_ceil(rounds);
    let mut times: Vec<Vec<Vec<f64>>> = vec![Vec::new(); ready.len()];
    let mut failed = vec![false; ready.len()];
    for _ in 0..rounds {
        for (k, r) in ready.iter_mut().enumerate() {
            if failed[k] {
                continue;
            }
            match time_runs(&mut r.session, &r.inputs, per_round, 1, clock) {
                Ok(t) => times[k].push(t),
                Err(_) => failed[k] = true,
            }
        }
    }
    times
}

/// Fills the measured time and error of each row from its rounds; returns the share of models
/// whose even and odd rounds agree within 10% on `stat` (how reproducible the measurement
/// itself is on this machine right now: the ceiling for any prediction).
pub fn fill_measured(ready: &mut [Ready], times: &[Vec<Vec<f64>>], stat: Stat) -> f64 {
    let (mut agree, mut n) = (0usize, 0usize);
    for (r, rounds) in ready.iter_mut().zip(times) {
        let all: Vec<f64> = rounds.iter().flatten().copied().collect();
        let m = stat.of(&all);
        r.row.times_s = all;
        r.row.measured_s = m;
        r.row.rel_error = (r.row.predicted_s - m) / m.max(1e-12);
        let half = |parity: usize| -> Vec<f64> {
            rounds
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 2 == parity)
                .flat_map(|(_, t)| t.iter().copied())
                .collect()
        };
        let (a, b) = (half(0), half(1));
        if !a.is_empty() && !b.is_empty() {
            n += 1;
            let (a, b) = (stat.of(&a), stat.of(&b));
            if (a - b).abs() <= 0.10 * a.min(b) {
                agree += 1;
            }
        }
    }
    agree as f64 / n.max(1) as f64
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

/// How to validate.
#[derive(Clone, Copy, Debug)]
pub struct ValidateOptions {
    /// Timed runs per model.
    pub runs: usize,
    /// Interleaved rounds the runs are split into.
    pub rounds: usize,
    pub clock: Clock,
    pub stat: Stat,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions {
            runs: 16,
            rounds: 4,
            clock: Clock::ThreadCpu,
            stat: Stat::Min,
        }
    }
}

/// Validates `profile` on `cases` (see [`measure_interleaved`]); failures are reported as
/// skipped, not fatal.
pub fn validate(
    cases: &[ValidationCase],
    profile: &Profile,
    opts: &ValidateOptions,
) -> ValidationReport {
    let mut ready = Vec::new();
    let mut skipped = Vec::new();
    for c in cases {
        match prepare_case(c, profile) {
            Ok(r) => ready.push(r),
            Err(e) => skipped.push((c.name.clone(), e.to_string())),
        }
    }
    let times = measure_interleaved(&mut ready, opts.runs, opts.rounds, opts.clock);
    let agreement = fill_measured(&mut ready, &times, opts.stat);
    let rows = ready.into_iter().map(|r| r.row).collect();
    let mut r = summarize(profile, opts, rows, skipped);
    r.self_agreement_10pct = agreement;
    r
}

/// The summary statistics over measured rows.
pub fn summarize(
    profile: &Profile,
    opts: &ValidateOptions,
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
        calibration_set: profile
            .host_model
            .as_ref()
            .map(|h| h.calibration_set.clone())
            .unwrap_or_default(),
        clock: opts.clock,
        stat: opts.stat,
        runs: opts.runs,
        rounds: opts.rounds,
        within_10pct: within,
        median_abs_rel_error: median(&mut abs),
        spearman: spearman(&p, &m),
        self_agreement_10pct: 0.0,
        load_average: load_average(),
        rows,
        skipped,
    }
}

/// The 1-minute load average (Linux), 0 where unknown.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
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
